"""Score a series that arrives in pieces, with the very scores the whole series would get.

``scorer = det.stream()`` keeps the few rows and partial sums it still needs. ``scorer.update(rows)`` returns
the scores of the steps that became *final* with those rows; ``scorer.finish()`` says the series ended and
returns the rest. Concatenated, they equal ``det.anomaly_score`` on the whole series: to float32 rounding by
default (the model meets the windows in other batches, see :class:`StreamScorer`), bit for bit with
``exact=True``, which runs the windows in ``anomaly_score``'s own batches at the price of more lag.

A step's score is final once no window that will still come can cover it, and its smoothing neighbours are
final too: the scores lag the newest row by ``window_ + smooth // 2`` steps with ``score_stride=1`` (one
step more with a larger stride, whose last window depends on where the series ends). Memory stays bounded
by a window of rows and a window of sums, however long the stream.
"""

from __future__ import annotations

import numpy as np

from reconad.data.windows import WindowFolder, window_starts
from reconad.errors import InputError
from reconad.scoring import SeriesScorer


class StreamScorer:
    """Incremental scoring with a fitted detector's :class:`~reconad.scoring.SeriesScorer` (``det.stream()``).

    ``update(rows)`` takes ``(k, D)`` rows (or ``(k,)`` for one feature, or a DataFrame with the fitted columns;
    ``k`` may be 0) and returns the final scores ``(m,)`` of the next ``m`` steps, possibly none; ``finish()``
    returns the remaining steps' scores and closes the stream. ``n_seen`` counts the rows fed, ``n_scored`` the
    scores returned.

    Windows are scored in the batches the stream allows rather than in ``anomaly_score``'s batches of up to
    1,024, and a CPU matrix product may round a row differently in another batch size, so the two agree to
    float32 rounding (about 1e-6 relative), not always bit for bit.

    ``exact=True`` gives the very bits of ``anomaly_score`` (so alarms at a threshold are exactly the batch
    ones, even for a score that lands on the level): the windows wait until they fill one of the batches
    ``anomaly_score`` uses (blocks of ``scorer.batch_size()`` windows counted from the series' first step), and
    ``finish()`` runs the last, partial one. The price is lag: up to one block of windows more (1,024 rows
    with ``score_stride=1``), and rows held for it; the memory stays bounded by a block.

    ``explain=True`` also folds each feature's error, as ``det.explain`` does: after each call,
    ``contributions`` holds the ``(m, D)`` contributions of the ``m`` steps it returned (bit for bit
    ``det.explain``'s with ``exact=True``).
    """

    def __init__(self, scorer: SeriesScorer, *, exact: bool = False, explain: bool = False):
        self._scorer = scorer
        self.exact, self.explain = bool(exact), bool(explain)
        self._block = scorer.batch_size()  # windows per model call: anomaly_score's batches in exact mode
        self._facc = np.empty((0, scorer.n_features), dtype=np.float64)  # per-feature sums (explain)
        self.contributions = np.empty((0, scorer.n_features), dtype=np.float64)
        self.window = scorer.window
        self.stride = scorer.stride
        self.smooth = scorer.smooth
        self._left, self._right = scorer.reach  # the smoothing's reach
        self._rows = np.empty((0, scorer.n_features), dtype=np.float32)  # scaled rows from _rows_start
        self._rows_start = 0
        self._acc = np.empty(0, dtype=np.float64)  # folded window errors of steps from _raw_start
        self._count = np.empty(0, dtype=np.int64)
        self._raw_start = 0
        self._next_start = 0  # the next regular window's first step
        self.n_seen = 0
        self.n_scored = 0
        self.finished = False

    # ---- public -------------------------------------------------------------------------------------------------

    def update(self, X) -> np.ndarray:
        """Feed the next rows; returns the scores ``(m,)`` of the steps that became final (maybe ``m == 0``)."""
        if self.finished:
            raise InputError("this stream is finished; start a new one with det.stream()")
        if hasattr(X, "__len__") and len(X) == 0 and np.ndim(X) <= 2:  # a poll that brought nothing: no change
            self.contributions = self.contributions[:0]
            return np.empty(0, dtype=np.float64)
        rows = self._scorer.scale(self._scorer.check_rows(X, "rows"))  # (k, D) scaled
        before = self._snapshot()
        self._rows = np.concatenate([self._rows, rows])
        self.n_seen += len(rows)
        self._grow(len(rows))
        last = self.n_seen - self.window  # the last step a complete window can start at
        starts = np.arange(self._next_start, last + 1, self.stride, dtype=np.int64)
        if self.exact:  # only whole blocks of anomaly_score's batches, counted from the first window
            done = self._next_start // self.stride
            starts = starts[: (done + len(starts)) // self._block * self._block - done]
        if len(starts):
            try:
                self._run(starts)  # refuses rows whose error overflows (SeriesScorer.check_errors)
            except InputError:
                self.__dict__.update(before)  # refused rows leave the stream as it was: feed corrected rows
                raise
            self._next_start = int(starts[-1]) + self.stride
        # with a stride > 1 the series' last window (ending at its final step) may still cover steps >= last
        raw_final = self._next_start if self.stride == 1 else min(self._next_start, max(last, 0))
        scores = self._emit(raw_final - self._right, length=None)
        self._trim()
        return scores

    def finish(self) -> np.ndarray:
        """The series ends here: returns the scores of every step not returned yet, and closes the stream."""
        if self.finished:
            raise InputError("this stream is already finished; start a new one with det.stream()")
        length = self.n_seen
        if length < self.window:
            raise InputError(
                f"the stream has {length} steps, fewer than one window ({self.window}); feed more rows before "
                "finish()"
            )
        if self.exact:  # the windows not run yet (the last, partial block and the tail window), as anomaly_score
            rest = window_starts(length, self.window, self.stride)[self._next_start // self.stride :]
            if len(rest):
                self._run(rest)
        elif (length - self.window) % self.stride:  # the last window, ending at the final step (as anomaly_score)
            self._run(np.array([length - self.window], dtype=np.int64))
        self.finished = True
        return self._emit(length, length=length)

    # ---- internals ----------------------------------------------------------------------------------------------

    def _snapshot(self) -> dict:
        """The state an update changes (its arrays are replaced, never written in place, before ``_run``)."""
        return {name: getattr(self, name) for name in ("_rows", "_acc", "_facc", "_count", "n_seen")}

    def _grow(self, count: int) -> None:
        fill = -np.inf if self._scorer.fold == "max" else 0.0
        self._acc = np.concatenate([self._acc, np.full(count, fill)])
        if self.explain:
            self._facc = np.concatenate([self._facc, np.full((count, self._scorer.n_features), fill)])
        self._count = np.concatenate([self._count, np.zeros(count, dtype=np.int64)])

    def _errors(self, local: np.ndarray):
        """``(starts, errors (B, W), per-feature errors (B, W, D) or None)`` per batch, as anomaly_score / explain."""
        scorer = self._scorer
        if not self.explain:
            for part, error in scorer.window_errors(self._rows, local):
                yield part, error, None
            return
        for part, windows, x_hat in scorer.reconstructions(self._rows, local):
            squared = (x_hat - windows) ** 2  # (B, W, D)
            yield part, scorer.check_errors(squared.amax(dim=-1), windows).cpu().numpy(), squared.cpu().numpy()

    def _run(self, starts: np.ndarray) -> None:
        """Score the windows beginning at ``starts`` (global steps, sorted) and fold them into the sums."""
        scorer, window = self._scorer, self.window
        for part, error, per_feature in self._errors(starts - self._rows_start):  # (B, W), as anomaly_score
            lo = int(part[0])  # local to the kept rows
            begin = lo + self._rows_start - self._raw_start
            for values, sums, trailing in ((error, self._acc, ()), (per_feature, self._facc, (scorer.n_features,))):
                if values is None:
                    continue
                folder = WindowFolder(int(part[-1]) + window - lo, window, scorer.fold, trailing=trailing)
                folder.add(values, part - lo)
                acc, count = folder.partial()
                span = slice(begin, begin + len(count))
                if scorer.fold == "max":
                    np.maximum(sums[span], acc, out=sums[span])
                else:
                    sums[span] += acc
            self._count[span] += count

    def _emit(self, stop: int, length: int | None) -> np.ndarray:
        """Smoothed scores of steps ``[n_scored, stop)``; ``length`` is the series' length once it is known."""
        start = self.n_scored
        self.contributions = np.empty((0, self._scorer.n_features), dtype=np.float64)
        if stop <= start:
            return np.empty(0, dtype=np.float64)
        raw_stop = min(stop + self._right, self.n_seen)
        raw = self._acc[: raw_stop - self._raw_start]
        count = self._count[: raw_stop - self._raw_start]
        per_feature = self._facc[: raw_stop - self._raw_start]  # empty unless explaining
        if self._scorer.fold == "mean":
            raw = raw / np.maximum(count, 1)
            if self.explain:
                per_feature = per_feature / np.maximum(count, 1)[:, None]
        finish, length = self._scorer.finish, length or self.n_seen
        scores = finish(raw, self._raw_start, start, stop, length)
        if self.explain:
            self.contributions = finish(per_feature, self._raw_start, start, stop, length)  # (m, D), as explain
        self.n_scored = stop
        return scores

    def _trim(self) -> None:
        """Forget the rows no window will read again and the sums no score will use again."""
        keep_rows = min(self._next_start, max(self.n_seen - self.window, 0))  # the last window starts >= this
        drop = keep_rows - self._rows_start
        if drop > 0:
            self._rows = self._rows[drop:].copy()
            self._rows_start = keep_rows
        keep_raw = max(self.n_scored - self._left, 0)
        drop = keep_raw - self._raw_start
        if drop > 0:
            self._acc, self._count = self._acc[drop:].copy(), self._count[drop:].copy()
            if self.explain:
                self._facc = self._facc[drop:].copy()
            self._raw_start = keep_raw

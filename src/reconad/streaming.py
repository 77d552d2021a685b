"""Score a series that arrives in pieces, with the very scores the whole series would get.

``scorer = det.stream()`` keeps the few rows and partial sums it still needs. ``scorer.update(rows)`` returns
the scores of the steps that became *final* with those rows; ``scorer.finish()`` says the series ended and
returns the rest. Concatenated, they equal ``det.anomaly_score`` on the whole series (to float rounding: the
model meets the windows in other batches, see :class:`StreamScorer`).

A step's score is final once no window that will still come can cover it, and its smoothing neighbours are
final too: the scores lag the newest row by ``window_ + smooth // 2`` steps with ``score_stride=1`` (one
step more with a larger stride, whose last window depends on where the series ends). Memory stays bounded
by a window of rows and a window of sums, however long the stream.
"""

from __future__ import annotations

import numpy as np

from reconad.data.windows import WindowFolder
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
    """

    def __init__(self, scorer: SeriesScorer):
        self._scorer = scorer
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
            return np.empty(0, dtype=np.float64)
        rows = self._scorer.scale(self._scorer.check_rows(X, "rows"))  # (k, D) scaled
        before = self._snapshot()
        self._rows = np.concatenate([self._rows, rows])
        self.n_seen += len(rows)
        self._grow(len(rows))
        last = self.n_seen - self.window  # the last step a complete window can start at
        if last >= self._next_start:
            starts = np.arange(self._next_start, last + 1, self.stride, dtype=np.int64)
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
        if (length - self.window) % self.stride:  # the last window, ending at the final step (as anomaly_score)
            self._run(np.array([length - self.window], dtype=np.int64))
        self.finished = True
        return self._emit(length, length=length)

    # ---- internals ----------------------------------------------------------------------------------------------

    def _snapshot(self) -> dict:
        """The state an update changes (its arrays are replaced, never written in place, before ``_run``)."""
        return {name: getattr(self, name) for name in ("_rows", "_acc", "_count", "n_seen")}

    def _grow(self, count: int) -> None:
        self._acc = np.concatenate([self._acc, np.full(count, -np.inf if self._scorer.fold == "max" else 0.0)])
        self._count = np.concatenate([self._count, np.zeros(count, dtype=np.int64)])

    def _run(self, starts: np.ndarray) -> None:
        """Score the windows beginning at ``starts`` (global steps, sorted) and fold them into the sums."""
        scorer, window = self._scorer, self.window
        for part, error in scorer.window_errors(self._rows, starts - self._rows_start):  # (B, W), as anomaly_score
            lo = int(part[0])  # local to the kept rows
            folder = WindowFolder(int(part[-1]) + window - lo, window, scorer.fold)
            folder.add(error, part - lo)
            acc, count = folder.partial()
            begin = lo + self._rows_start - self._raw_start
            span = slice(begin, begin + len(count))
            if scorer.fold == "max":
                np.maximum(self._acc[span], acc, out=self._acc[span])
            else:
                self._acc[span] += acc
            self._count[span] += count

    def _emit(self, stop: int, length: int | None) -> np.ndarray:
        """Smoothed scores of steps ``[n_scored, stop)``; ``length`` is the series' length once it is known."""
        start = self.n_scored
        if stop <= start:
            return np.empty(0, dtype=np.float64)
        raw_stop = min(stop + self._right, self.n_seen)
        raw = self._acc[: raw_stop - self._raw_start]
        count = self._count[: raw_stop - self._raw_start]
        if self._scorer.fold == "mean":
            raw = raw / np.maximum(count, 1)
        scores = self._scorer.finish(raw, self._raw_start, start, stop, length or self.n_seen)
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
            self._raw_start = keep_raw

"""The series scoring path, in one public object: scale -> windows -> model -> per-step error -> fold -> smooth.

A fitted :class:`~reconad.SeriesDetector` holds one :class:`SeriesScorer` (``det.scorer_``). Everything that turns
rows into scores goes through it: the detector itself, :class:`~reconad.streaming.StreamScorer`, Dask range
scoring (:mod:`reconad.distributed`), the HTTP service and the report. So a score means one thing everywhere: the
squared reconstruction error of each step (the max over features), averaged over every window that covers the step
and smoothed by a centred moving average. No step reads a threshold.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from reconad.data.windows import FOLDS, WindowFolder, gather_windows, window_starts
from reconad.errors import InputError
from reconad.validation import as_series

SMOOTH_BLOCK = 1 << 20  # steps smoothed at a time: a long series needs no series-long index arrays


def moving_average(raw: np.ndarray, raw_start: int, start: int, stop: int, length: int, size: int) -> np.ndarray:
    """Centred moving average of ``size`` steps over a series of ``length`` steps, for steps ``[start, stop)``.

    ``raw`` holds the series' steps ``[raw_start, raw_start + len(raw))``. The edges repeat their end values (as
    ``scipy.ndimage.uniform_filter1d(mode="nearest")``, to rounding), and every output is summed term by term in the
    same order, so scoring a slice with its neighbours gives the same bits as scoring the whole series. ``raw`` may
    be ``(n, D)``: each column is smoothed alone, with the bits it would get on its own.
    """
    if size <= 1:
        return raw[start - raw_start : stop - raw_start].astype(np.float64)
    out = np.empty((stop - start, *raw.shape[1:]), dtype=np.float64)
    for begin in range(start, stop, SMOOTH_BLOCK):
        steps = np.arange(begin, min(begin + SMOOTH_BLOCK, stop))
        total = np.zeros((len(steps), *raw.shape[1:]), dtype=np.float64)
        for shift in range(-(size // 2), size - size // 2):
            total += raw[np.clip(steps + shift, 0, length - 1) - raw_start]
        out[begin - start : begin - start + len(steps)] = total / size
    return out


def to_device(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Move a CPU batch to ``device``; to a GPU through pinned memory, without waiting for the copy."""
    if device.type == "cuda":
        return batch.pin_memory().to(device, non_blocking=True)
    return batch.to(device)


class SeriesScorer:
    """Turns rows of a series into one anomaly score per step with a trained series model.

    Why a user wants it: it is the one definition of a series score, with the pieces that streaming, partitioned
    (Dask) scoring and custom pipelines need: the scaling (:meth:`scale`), the per-window errors
    (:meth:`window_errors`), the fold and smoothing (:meth:`finish`), and the rows a range of steps depends on
    (:meth:`rows_needed`, :meth:`score_range`).

    ``model`` maps windows ``(B, W, D)`` to reconstructions of the same shape. ``mean`` / ``scale`` standardise
    each feature (``None``: the rows are used as they are). Windows of ``window`` steps are cut every ``stride``
    steps, plus one window ending at the last step when the stride skips it, so every step is covered. A step's
    score is its squared error, max over features, folded over the covering windows (``fold="mean"`` or ``"max"``)
    and averaged over ``smooth`` centred steps.
    """

    def __init__(self, model: torch.nn.Module, *, window: int, stride: int, n_features: int,
                 feature_names: list[str] | None = None, mean: np.ndarray | None = None,
                 scale: np.ndarray | None = None, fold: str = "mean", smooth: int = 1):
        if fold not in FOLDS:
            raise InputError(f"fold must be one of {FOLDS}, got {fold!r}")
        self.model = model
        self.window = int(window)
        self.stride = int(min(stride, window))
        self.n_features = int(n_features)
        self.feature_names = feature_names
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self.scale_values = None if scale is None else np.asarray(scale, dtype=np.float32)
        self.fold = fold
        self.smooth = int(smooth)

    # ---- rows in -------------------------------------------------------------------------------------------------

    def check_rows(self, X, what: str = "X") -> np.ndarray:
        """``X`` as float32 ``(T, D)``, checked to have the fitted columns in the fitted order (any number of rows)."""
        data, names = as_series(X, what)
        fitted = self.feature_names
        if fitted is not None and names is not None and set(names) != set(fitted):
            extra, missing = [n for n in names if n not in fitted], [n for n in fitted if n not in names]
            found = ([f"columns the detector was not fitted on {extra}"] if extra else []) + (
                [f"no columns {missing}"] if missing else [])
            raise InputError(f"{what} has {' and '.join(found)}; pass the fitted columns {fitted} "
                             "(X[det.feature_names_in_])")
        if data.shape[1] != self.n_features:
            raise InputError(f"{what} has {data.shape[1]} features but the detector was fitted on {self.n_features}; "
                             "pass the same columns as at fit time")
        if fitted is not None and names is not None and names != fitted:
            raise InputError(f"{what} has columns {names} but the detector was fitted on {fitted}; "
                             "pass the same columns in the same order")
        return data

    def scale(self, x: np.ndarray) -> np.ndarray:
        """Standardise rows ``(T, D)`` with the training statistics, in float32 (one copy, never a float64 one)."""
        if self.mean is None:
            return x
        scaled = x - self.mean  # (T, D) float32
        scaled /= self.scale_values
        return scaled

    def prepare(self, X, what: str = "X") -> np.ndarray:
        """Checked and scaled rows ``(T, D)`` of a whole series, which must hold at least one window."""
        data = self.check_rows(X, what)
        if len(data) < self.window:
            raise InputError(f"{what} has {len(data)} steps, fewer than one window ({self.window}); "
                             "pass a longer series")
        return self.scale(data)

    # ---- the model -------------------------------------------------------------------------------------------------

    def batch_size(self) -> int:
        """Windows per model call: bounded memory (about 4M numbers), at most 1,024."""
        return max(1, min(1024, 2**22 // (self.window * self.n_features)))

    def reconstructions(self, x: np.ndarray, starts: np.ndarray) -> Iterator[tuple[np.ndarray, torch.Tensor,
                                                                                  torch.Tensor]]:
        """Yield ``(starts, windows, x_hat)`` per batch for the windows of scaled rows ``x`` at ``starts``.

        Windows and reconstructions are ``(B, W, D)`` float32 tensors. The same windows always meet the model in
        the same batches, so every path that scores them gets the same bits.
        """
        batch = self.batch_size()
        device = next(self.model.parameters()).device
        self.model.eval()
        with torch.no_grad():
            for begin in range(0, len(starts), batch):
                part = starts[begin : begin + batch]
                windows = to_device(torch.from_numpy(gather_windows(x, part, self.window)), device)  # (B, W, D)
                yield part, windows, self.model(windows).float()

    def window_errors(self, x: np.ndarray, starts: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(starts, errors)`` per batch: each window's squared error per step, max over features ``(B, W)``."""
        for part, windows, x_hat in self.reconstructions(x, starts):
            yield part, self.check_errors(((x_hat - windows) ** 2).amax(dim=-1), windows).cpu().numpy()

    def check_errors(self, errors: torch.Tensor, windows: torch.Tensor) -> torch.Tensor:
        """``errors`` as they are when every one is finite, else the one :class:`InputError` every path raises.

        Why: finite but huge input (1e20, 1e38) makes the float32 squared error overflow to ``inf`` (or NaN), and
        an ``inf`` score is no answer (JSON has none; a NaN would compare as normal). The batch scorer, streaming,
        Dask ranges, :meth:`feature_errors` and the service all go through here, so all refuse with this message.
        ``windows`` are the scaled rows the errors came from (for the message).
        """
        if bool(torch.isfinite(errors).all()):
            return errors
        rows = windows.detach().double().cpu().numpy()
        if self.mean is not None:
            rows = rows * self.scale_values.astype(np.float64) + self.mean.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            largest = float(np.nanmax(np.abs(rows))) if np.isfinite(rows).any() else float("inf")
        raise InputError(f"the values are so far from the training data that their reconstruction error overflows "
                         f"(largest |value| {largest:.3g}); check the units, or refit on data in these units")

    def starts(self, length: int) -> np.ndarray:
        """The window starts of a series of ``length`` steps (the stride, plus a tail window ending at the end)."""
        return window_starts(length, self.window, self.stride)

    # ---- scores ----------------------------------------------------------------------------------------------------

    @property
    def reach(self) -> tuple[int, int]:
        """How many steps left and right of a step its score reads through the smoothing."""
        return self.smooth // 2, self.smooth - 1 - self.smooth // 2

    def finish(self, raw: np.ndarray, raw_start: int, start: int, stop: int, length: int) -> np.ndarray:
        """Folded per-step errors of steps ``[raw_start, ...)`` -> scores of steps ``[start, stop)`` (smoothed).

        ``raw`` must cover ``[start - left, stop + right)`` (:attr:`reach`) within ``[0, length)``.
        """
        return moving_average(raw, raw_start, start, stop, length, self.smooth)

    def folded_errors(self, x: np.ndarray) -> np.ndarray:
        """Per-step errors ``(T,)`` of scaled rows ``x``, folded over the covering windows (before smoothing)."""
        folder = WindowFolder(len(x), self.window, self.fold)
        for part, errors in self.window_errors(x, self.starts(len(x))):
            folder.add(errors, part)
        return folder.result()

    def score_scaled(self, x: np.ndarray) -> np.ndarray:
        """Scores ``(T,)`` of scaled rows ``(T, D)``: what calibration and validation are computed on."""
        return self.finish(self.folded_errors(x), 0, 0, len(x), len(x))

    def score(self, X) -> np.ndarray:
        """One score per step ``(T,)`` of a whole series (rows, array or DataFrame), higher = more anomalous."""
        return self.score_scaled(self.prepare(X))

    def reconstruct(self, X) -> np.ndarray:
        """The reconstruction ``(T, D)`` of a series in its own units: each step averaged over its windows."""
        x = self.prepare(X)
        folder = WindowFolder(len(x), self.window, "mean", trailing=(self.n_features,))
        for part, _, x_hat in self.reconstructions(x, self.starts(len(x))):
            folder.add(x_hat.cpu().numpy(), part)
        recon = folder.result()  # (T, D) scaled units
        if self.mean is not None:
            recon = recon * self.scale_values.astype(np.float64) + self.mean.astype(np.float64)
        return recon.astype(np.float32)

    def feature_errors(self, X) -> np.ndarray:
        """Each feature's squared error ``(T, D)``, folded and smoothed exactly as the score is.

        With one feature it *is* the score; with several, its row-wise max is at most the score.
        """
        x = self.prepare(X)
        length = len(x)
        folder = WindowFolder(length, self.window, self.fold, trailing=(self.n_features,))
        for part, windows, x_hat in self.reconstructions(x, self.starts(length)):
            folder.add(self.check_errors((x_hat - windows) ** 2, windows).cpu().numpy(), part)  # (B, W, D)
        per_feature = folder.result()  # (T, D)
        return self.finish(per_feature, 0, 0, length, length)  # each column smoothed alone

    # ---- scoring a range of a long series (Dask partitions) --------------------------------------------------------

    def _plan(self, out_start: int, out_end: int, total_length: int) -> tuple[np.ndarray, int, int]:
        """Global starts of the windows that scoring steps ``[out_start, out_end)`` needs, in the whole-series
        batches, and the rows ``[lo, hi)`` they read."""
        length, window, stride = int(total_length), self.window, self.stride
        if length < window:
            raise InputError(f"the series has {length} steps, fewer than one window ({window}); pass a longer series")
        if not 0 <= out_start < out_end <= length:
            raise InputError(f"cannot score steps [{out_start}, {out_end}) of a series of {length} steps")
        left, right = self.reach
        raw_lo, raw_hi = max(0, out_start - left), min(length, out_end + right)
        n_regular = (length - window) // stride + 1  # windows at 0, stride, 2 * stride, ...
        n_windows = n_regular + (1 if (length - window) % stride else 0)  # + the tail window ending at T
        first = min(-(-max(0, raw_lo - window + 1) // stride), n_windows - 1)  # first window covering raw_lo
        last = min((raw_hi - 1) // stride, n_regular - 1)  # last regular window starting before raw_hi
        if n_windows > n_regular and length - window <= raw_hi - 1:
            last = n_windows - 1  # the tail window covers raw_hi - 1 too
        batch = self.batch_size()
        index = np.arange(first // batch * batch, min((last // batch + 1) * batch, n_windows), dtype=np.int64)
        starts = np.where(index < n_regular, index * stride, length - window)  # (N,) global starts, sorted
        return starts, int(starts[0]), int(starts[-1]) + window

    def rows_needed(self, out_start: int, out_end: int, total_length: int) -> tuple[int, int]:
        """The rows ``[lo, hi)`` of a ``total_length`` series that :meth:`score_range` needs for ``[out_start,
        out_end)``."""
        _, lo, hi = self._plan(out_start, out_end, total_length)
        return lo, hi

    def score_range(self, X_rows, rows_start: int, out_start: int, out_end: int, total_length: int) -> np.ndarray:
        """Scores of steps ``[out_start, out_end)`` of a ``total_length`` series, bit-identical to :meth:`score`
        on the whole series, from ``X_rows``: its rows ``[rows_start, rows_start + len(X_rows))``, which must hold
        :meth:`rows_needed`. For scoring a long series in parts (Dask).
        """
        starts, lo, hi = self._plan(out_start, out_end, total_length)
        n_rows = len(X_rows)
        if rows_start > lo or rows_start + n_rows < hi:
            raise InputError(f"scoring steps [{out_start}, {out_end}) needs rows [{lo}, {hi}) of the series, got rows "
                             f"[{rows_start}, {rows_start + n_rows}); pass the rows rows_needed() gives")
        x = self.prepare(X_rows[lo - rows_start : hi - rows_start], "rows")  # (hi - lo, D) scaled
        raw = WindowFolder(hi - lo, self.window, self.fold)
        for part, errors in self.window_errors(x, starts - lo):  # the one-process batches
            raw.add(errors, part)
        return self.finish(raw.result(), lo, out_start, out_end, total_length)

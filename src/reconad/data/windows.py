"""Cut a series into windows and fold per-window errors back onto the timeline.

A series is an array ``(T, D)``. Windows start every ``stride`` steps; when the stride does not land the
last window on the final step, one more window is added that ends exactly at ``T``, so every step is
covered by at least one window and gets exactly one score.
"""

from __future__ import annotations

import logging

import numpy as np

from reconad.errors import InputError

log = logging.getLogger("reconad")

FOLDS = ("mean", "max")


def fit_window(n_steps: int, wanted: int, calibration_split: float, smallest: int) -> int:
    """The window a training series of ``n_steps`` can hold: ``wanted``, or, when the training part or the held-out
    calibration tail (``calibration_split`` of the steps) is shorter, the shorter of the two (with a warning), down
    to ``smallest`` steps; a series too short even for that is refused, naming the length it needs."""
    n_cal = int(round(n_steps * calibration_split))
    room = n_steps if n_cal == 0 else min(n_steps - n_cal, n_cal)
    if room >= wanted:
        return wanted
    tiny = min(wanted, smallest)
    if room < tiny:
        share = 1 if calibration_split == 0 else min(calibration_split, 1 - calibration_split)
        minimum = int(np.ceil(tiny / share))
        raise InputError(
            f"the training series has {n_steps} steps; with calibration_split={calibration_split} it needs at least "
            f"{minimum} steps so that the training part and the held-out calibration tail each hold a window of "
            f"{tiny} steps (the smallest window reconad adapts to); pass more data, a smaller window, or "
            "calibration_split=0")
    log.warning("the training series has %d steps, too short for window=%d with calibration_split=%s; using a "
                "window of %d steps instead (window_)", n_steps, wanted, calibration_split, room)
    return int(room)


def window_starts(length: int, window: int, stride: int) -> np.ndarray:
    """Start index of every window: ``0, stride, 2*stride, ...`` plus ``length - window`` if not yet there."""
    if window < 1 or stride < 1:
        raise InputError(f"window and stride must be positive integers, got window={window}, stride={stride}")
    if length < window:
        raise InputError(
            f"the series has {length} steps, fewer than one window of {window}; "
            f"pass a longer series or a smaller window"
        )
    starts = np.arange(0, length - window + 1, stride, dtype=np.int64)
    if starts[-1] != length - window:
        starts = np.append(starts, length - window)
    return starts


def sliding_windows(x: np.ndarray, window: int, stride: int = 1) -> np.ndarray:
    """A read-only *view* ``(N, W, D)`` of the windows of ``x`` ``(T, D)`` starting every ``stride`` steps.

    No data is copied. Only the regular starts are included; use :func:`window_starts` and
    :func:`gather_windows` when the tail window must be included too.
    """
    if x.ndim != 2:
        raise InputError(f"expected a (T, D) array, got shape {x.shape}")
    window_starts(len(x), window, stride)  # validates
    view = np.lib.stride_tricks.sliding_window_view(x, window, axis=0)  # (T - W + 1, D, W)
    return view[::stride].transpose(0, 2, 1)  # (N, W, D)


def gather_windows(x: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """Copy the windows of ``x`` ``(T, D)`` that begin at ``starts`` into one array ``(len(starts), W, D)``."""
    return x[starts[:, None] + np.arange(window)]


class WindowFolder:
    """Accumulates per-window, per-step values ``(N, W)`` onto a timeline of ``length`` steps.

    Feed batches of windows in any order with :meth:`add`; :meth:`result` gives one value per step: the mean
    (or max) over every window that covered it. Memory is ``O(length)``, whatever the number of windows.
    Works for trailing dimensions too: values ``(N, W, D)`` fold to ``(length, D)``.
    """

    def __init__(self, length: int, window: int, how: str = "mean", trailing: tuple[int, ...] = ()):
        if how not in FOLDS:
            raise InputError(f"unknown fold {how!r}; choose one of {', '.join(FOLDS)}")
        self.length, self.window, self.how = length, window, how
        fill = -np.inf if how == "max" else 0.0
        self._acc = np.full((length, *trailing), fill, dtype=np.float64)
        self._count = np.zeros(length, dtype=np.int64)

    def add(self, values: np.ndarray, starts: np.ndarray) -> None:
        """Add ``values`` ``(B, W, ...)`` of the windows beginning at ``starts`` ``(B,)``."""
        index = (starts[:, None] + np.arange(self.window)).ravel()  # (B * W,)
        flat = values.reshape(len(index), *values.shape[2:])
        if self.how == "max":
            np.maximum.at(self._acc, index, flat)
            np.add.at(self._count, index, 1)
            return
        # sums over the span these windows touch only: O(batch), not O(length), per call
        lo, hi = int(starts.min()), int(starts.max()) + self.window
        local = index - lo
        step = int(starts[1] - starts[0]) if len(starts) > 1 else 1
        if step > 0 and (len(starts) < 3 or bool((np.diff(starts) == step).all())):
            self._acc[lo:hi] += self._regular_sums(values, hi - lo, step)
        else:
            columns = flat.reshape(len(index), -1)
            acc = self._acc.reshape(self.length, -1)
            for j in range(columns.shape[1]):
                acc[lo:hi, j] += np.bincount(local, weights=columns[:, j], minlength=hi - lo)
        self._count[lo:hi] += np.bincount(local, minlength=hi - lo)

    def _regular_sums(self, values: np.ndarray, span: int, step: int) -> np.ndarray:
        """The per-step sums of windows every ``step`` steps, as ``np.bincount`` adds them, in strided slices.

        Each step receives its windows' values in the order bincount visits them (earliest window first), each
        added to a float64 sum that starts at 0, so the bits are bincount's; slices instead of a scatter make it
        several times faster, which is what lets a live stream keep up with its per-feature contributions.
        """
        sums = np.zeros((span, *values.shape[2:]), dtype=np.float64)
        last = step * (len(values) - 1) + 1
        for w in range(self.window - 1, -1, -1):  # a step's earliest window has the largest offset into it
            sums[w : w + last : step] += values[:, w]
        return sums

    def partial(self) -> tuple[np.ndarray, np.ndarray]:
        """The running sums (or maxima) ``(length, ...)`` and window counts ``(length,)``, steps without a window
        included (for folding a growing timeline piece by piece, as streaming does)."""
        return self._acc, self._count

    def result(self) -> np.ndarray:
        if (self._count == 0).any():
            missing = np.flatnonzero(self._count == 0)
            raise RuntimeError(f"{missing.size} steps were covered by no window (first: {missing[0]})")
        if self.how == "max":
            return self._acc.copy()
        count = self._count.reshape(-1, *([1] * (self._acc.ndim - 1)))
        return self._acc / count


def fold_windows(values: np.ndarray, starts: np.ndarray, length: int, how: str = "mean") -> np.ndarray:
    """Fold ``values`` ``(N, W, ...)`` of windows at ``starts`` onto ``length`` steps (mean or max)."""
    folder = WindowFolder(length, values.shape[1], how, trailing=values.shape[2:])
    folder.add(values, starts)
    return folder.result()

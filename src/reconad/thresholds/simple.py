"""Thresholds read off the bulk of the normal scores: quantile, contamination, mean + k std, median + k MAD."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from reconad.errors import InputError
from reconad.thresholds.base import Threshold, check_k


@dataclass
class Quantile(Threshold):
    """The ``q``-quantile of the normal scores: about ``1 - q`` of normal steps are flagged."""

    name: ClassVar[str] = "quantile"
    q: float = 0.99

    def __post_init__(self):
        if not 0.0 < self.q < 1.0:
            raise InputError(f"Quantile q must lie strictly between 0 and 1, got {self.q}")

    def _compute(self, scores: np.ndarray) -> float:
        return float(np.quantile(scores, self.q))


@dataclass
class Contamination(Threshold):
    """Flags the top ``rate`` fraction of the normal scores: the ``(1 - rate)``-quantile.

    The same rule as :class:`Quantile` with ``q = 1 - rate``; it exists because PyOD users think in
    *contamination* (the expected share of anomalies). Unlike PyOD there is no 10% default: the default
    ``rate=0.01`` flags about 1% of normal steps. ``rate`` must lie in (0, 0.5], as in PyOD.
    """

    name: ClassVar[str] = "contamination"
    rate: float = 0.01

    def __post_init__(self):
        if not 0.0 < self.rate <= 0.5:
            raise InputError(f"Contamination rate must lie in (0, 0.5] (a share of anomalies), got {self.rate}")

    def _compute(self, scores: np.ndarray) -> float:
        return float(np.quantile(scores, 1.0 - self.rate))


@dataclass
class MeanStd(Threshold):
    """Mean + ``k`` standard deviations of the normal scores (3-sigma rule by default).

    Simple, but the mean and the standard deviation are pulled up by any outliers left in the "normal" data;
    :class:`MedianMAD` is the robust version.
    """

    name: ClassVar[str] = "mean_std"
    k: float = 3.0

    def __post_init__(self):
        check_k(type(self).__name__, self.k)

    def _compute(self, scores: np.ndarray) -> float:
        return float(scores.mean() + self.k * scores.std())


_MAD_TO_STD = 1.4826  # 1 / Phi^-1(3/4): MAD * 1.4826 estimates the standard deviation of normal data
_MEAN_AD_TO_STD = 1.2533  # sqrt(pi / 2): the same for the mean absolute deviation


@dataclass
class MedianMAD(Threshold):
    """Median + ``k`` * 1.4826 * MAD (median absolute deviation) of the normal scores.

    1.4826 * MAD estimates the standard deviation of normal data, so this is a 3.5-sigma rule that up to half
    of the scores being outliers cannot move. The default ``k=3.5`` is Iglewicz and Hoaglin's cut-off for the
    modified z-score. When more than half the scores are equal the MAD is 0; the mean absolute deviation from
    the median (times 1.2533) is used instead and ``note_`` says so.
    """

    name: ClassVar[str] = "median_mad"
    k: float = 3.5

    def __post_init__(self):
        check_k("MedianMAD", self.k)

    def _compute(self, scores: np.ndarray) -> float:
        median = float(np.median(scores))
        deviation = np.abs(scores - median)
        spread = _MAD_TO_STD * float(np.median(deviation))
        if spread == 0.0:
            spread = _MEAN_AD_TO_STD * float(deviation.mean())
            self.note_ = "MAD is 0 (over half the scores are equal): used the mean absolute deviation instead"
        return median + self.k * spread


@dataclass
class Fixed(Threshold):
    """A level the user chose (``det.set_threshold(3.2)``, ``reconad score --threshold 3.2``): flags above it.

    It reads nothing from the scores; it exists so that a hand-set level is saved, reported and compared like any
    fitted rule.
    """

    name: ClassVar[str] = "fixed"
    value: float = float("nan")

    def __post_init__(self):
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)) or not np.isfinite(self.value):
            raise InputError(f"a fixed threshold needs a finite number, got {self.value!r}")

    def _compute(self, scores: np.ndarray) -> float:
        return float(self.value)

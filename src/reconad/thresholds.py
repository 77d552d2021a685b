"""Thresholds fitted on anomaly scores of *normal* data, without labels.

A threshold object is small: its parameters are set at construction, ``fit(scores)`` learns ``value_`` from
scores of normal data, and ``predict(scores)`` flags ``scores > value_``. ``to_dict`` / ``threshold_from_dict``
round-trip it through JSON for saved detectors. ``make_threshold(name)`` builds one with default parameters.

========================  ======================================================================================
name                      value learned from the normal scores
========================  ======================================================================================
``quantile``              the ``q``-quantile (default ``q=0.99``)
``contamination``         the ``(1 - rate)``-quantile (default ``rate=0.01``): ``Quantile`` in PyOD's terms
``mean_std``              mean + ``k`` standard deviations (default ``k=3``)
``median_mad``            median + ``k`` * 1.4826 * MAD, a robust mean_std (default ``k=3.5``)
``pot``                   peaks over threshold (SPOT, Siffer et al. KDD 2017): a generalized Pareto tail fitted
                          above a high quantile, extrapolated to a false-alarm ``risk`` (default ``1e-3``)
========================  ======================================================================================

When a threshold has to fall back from its method (too few tail points for POT, zero MAD), ``note_`` says
why; it is ``None`` otherwise and is saved with the threshold.

The label-using best-F1 search is not here: it is an *oracle* (``reconad.metrics.oracle_best_f1``).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from scipy.stats import genpareto

from reconad.errors import InputError
from reconad.validation import complex_message

MAX_SCORE = 1e150  # larger magnitudes overflow a variance; a detector's own scores stay far below (float32 data)


def _check_scores(scores) -> np.ndarray:
    if np.iscomplexobj(scores):
        raise InputError(complex_message("scores"))
    try:
        s = np.asarray(scores, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise InputError(f"scores must be numbers ({exc}); pass the detector's anomaly scores") from exc
    if s.size == 0:
        raise InputError("cannot fit a threshold on no scores; pass scores of some normal data")
    if not np.isfinite(s).all():
        raise InputError("scores contain NaN or infinite values; a threshold needs finite scores")
    largest = float(np.abs(s).max())
    if largest > MAX_SCORE:  # their squares (a variance) would overflow to inf and the threshold flag nothing
        raise InputError(f"scores as large as {largest:.3g} overflow a threshold's statistics (the limit is "
                         f"{MAX_SCORE:.0e}); rescale them, for example divide them by their median")
    return s


def _check_k(owner: str, k: float) -> None:
    if not (isinstance(k, (int, float)) and math.isfinite(k) and k >= 0):
        raise InputError(f"{owner} k must be a finite number >= 0 (how many spreads above the centre), got {k!r}")


@dataclass
class Threshold:
    """Base class: subclasses define ``name`` and ``_compute(scores) -> float``."""

    name: ClassVar[str] = ""
    value_: float | None = field(default=None, init=False)
    note_: str | None = field(default=None, init=False)  # why the method fell back, if it did

    def fit(self, scores) -> Threshold:
        self.note_ = None
        self.value_ = float(self._compute(_check_scores(scores)))
        return self

    def _compute(self, scores: np.ndarray) -> float:
        raise NotImplementedError

    def predict(self, scores) -> np.ndarray:
        """0/1 flags: ``scores > value_``."""
        return (np.asarray(scores) > float(self)).astype(np.int8)

    def __float__(self) -> float:
        """The fitted value, so ``float(det.threshold_)`` reads as the number it is."""
        if self.value_ is None:
            raise InputError(f"{type(self).__name__} is not fitted; call fit(scores_of_normal_data) first")
        return float(self.value_)

    def params(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}

    def to_dict(self) -> dict:
        data = {"name": self.name, "params": self.params(), "value": self.value_}
        if self.note_ is not None:
            data["note"] = self.note_
        return data


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
        _check_k(type(self).__name__, self.k)

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
        _check_k("MedianMAD", self.k)

    def _compute(self, scores: np.ndarray) -> float:
        median = float(np.median(scores))
        deviation = np.abs(scores - median)
        spread = _MAD_TO_STD * float(np.median(deviation))
        if spread == 0.0:
            spread = _MEAN_AD_TO_STD * float(deviation.mean())
            self.note_ = "MAD is 0 (over half the scores are equal): used the mean absolute deviation instead"
        return median + self.k * spread


def _gpd_quantile(t: float, gamma: float, sigma: float, ratio: float) -> float:
    """The score exceeded with probability ``ratio * N_t / n`` under a generalized Pareto tail above ``t``."""
    if abs(gamma) < 1e-8:  # the exponential limit, where the general formula loses all precision
        return t - sigma * math.log(ratio)
    return t + sigma / gamma * (ratio ** (-gamma) - 1.0)


_POT_MIN_EXCESSES = 10  # fewer tail points than this cannot support a generalized Pareto fit


@dataclass
class POT(Threshold):
    """Peaks over threshold (Siffer et al., "Anomaly Detection in Streams with Extreme Value Theory", KDD 2017).

    The scores above an initial threshold ``t`` (the ``initial_quantile`` of the normal scores) are modelled as
    a generalized Pareto tail: the ``N_t`` excesses ``s - t`` are fitted by maximum likelihood
    (``scipy.stats.genpareto``, location 0) for a shape ``gamma`` and a scale ``sigma``. The threshold is the
    score that a normal step exceeds with probability ``risk``::

        z = t + sigma / gamma * ((risk * n / N_t) ** -gamma - 1)      (gamma != 0)
        z = t - sigma * log(risk * n / N_t)                           (gamma -> 0, an exponential tail)

    Unlike a quantile, ``z`` can lie beyond the highest score seen, so a tiny ``risk`` needs no huge sample.
    It never crashes on awkward data: with fewer than 10 excesses, or a fit that fails, it falls back to the
    highest normal score; when ``risk`` is not in the fitted tail (``risk * n >= N_t``, from ties) it falls back
    to the empirical ``(1 - risk)``-quantile. ``note_`` records the reason.
    """

    name: ClassVar[str] = "pot"
    risk: float = 1e-3
    initial_quantile: float = 0.98

    def __post_init__(self):
        if not 0.0 < self.initial_quantile < 1.0:
            raise InputError(f"POT initial_quantile must lie strictly between 0 and 1, got {self.initial_quantile}")
        if not 0.0 < self.risk < 1.0 - self.initial_quantile:
            raise InputError(
                f"POT risk must lie in (0, 1 - initial_quantile) = (0, {1.0 - self.initial_quantile:g}), got "
                f"{self.risk}; lower the risk or the initial_quantile"
            )

    def _compute(self, scores: np.ndarray) -> float:
        t = float(np.quantile(scores, self.initial_quantile))
        excesses = scores[scores > t] - t
        n, n_t = scores.size, excesses.size
        if n_t < _POT_MIN_EXCESSES:
            self.note_ = (
                f"only {n_t} of {n} scores exceed the initial threshold (need {_POT_MIN_EXCESSES}): used the "
                "highest score; give more normal scores or a lower initial_quantile"
            )
            return float(scores.max())
        ratio = self.risk * n / n_t
        if ratio >= 1.0:
            self.note_ = f"risk {self.risk} is not in the fitted tail ({n_t} of {n} scores): used the quantile"
            return float(np.quantile(scores, 1.0 - self.risk))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                gamma, _, sigma = genpareto.fit(excesses, floc=0.0)
        except (ValueError, RuntimeError, FloatingPointError) as exc:  # scipy's optimiser gave up
            gamma, sigma = float("nan"), float("nan")
            reason = str(exc)
        else:
            reason = f"degenerate fit (shape {gamma}, scale {sigma})"
        if not (math.isfinite(gamma) and math.isfinite(sigma) and sigma > 0):
            self.note_ = f"generalized Pareto fit failed ({reason}): used the highest score"
            return float(scores.max())
        return _gpd_quantile(t, gamma, sigma, ratio)


THRESHOLDS: dict[str, type[Threshold]] = {
    cls.name: cls for cls in (Quantile, Contamination, MeanStd, MedianMAD, POT)
}


def make_threshold(spec: str | Threshold) -> Threshold:
    """A fresh, unfitted threshold from a name (``"quantile"``) or a copy of a threshold object."""
    if isinstance(spec, Threshold):
        return type(spec)(**spec.params())
    if isinstance(spec, str) and spec in THRESHOLDS:
        return THRESHOLDS[spec]()
    raise InputError(f"unknown threshold {spec!r}; pass one of {', '.join(THRESHOLDS)} or a Threshold object")


def threshold_from_dict(data: dict) -> Threshold:
    """Rebuild a fitted threshold saved by ``Threshold.to_dict``."""
    try:
        threshold = THRESHOLDS[data["name"]](**data["params"])
        value = data["value"]
        threshold.value_ = None if value is None else float(value)
        note = data.get("note")
        threshold.note_ = None if note is None else str(note)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"invalid threshold description {data!r}: {exc}") from exc
    return threshold

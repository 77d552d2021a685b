"""Thresholds from the tail of the normal scores, extrapolated with extreme-value theory: POT and an alarm budget."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.stats import genpareto

from reconad.errors import InputError
from reconad.thresholds.base import Threshold


def gpd_quantile(t: float, gamma: float, sigma: float, ratio: float) -> float:
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
        return _tail_level(scores, float(np.quantile(scores, self.initial_quantile)), self.risk, self)


def _tail_level(scores: np.ndarray, t: float, risk: float, owner: Threshold) -> float:
    """The score a normal step exceeds with probability ``risk``, from a generalized Pareto tail above ``t``.

    Falls back to the highest score (too few excesses, a failed fit) or the empirical quantile (``risk`` outside
    the fitted tail), and says why in ``owner.note_``.
    """
    excesses = scores[scores > t] - t
    if excesses.size < _POT_MIN_EXCESSES:
        owner.note_ = (f"only {excesses.size} of {scores.size} scores exceed the initial threshold (need "
                       f"{_POT_MIN_EXCESSES}): used the highest score; give more normal scores or a lower "
                       "initial_quantile")
        return float(scores.max())
    ratio = risk * scores.size / excesses.size
    if ratio >= 1.0:
        owner.note_ = f"risk {risk:.3g} is not in the fitted tail ({excesses.size} of {scores.size} scores): used " \
                      "the quantile"
        return float(np.quantile(scores, 1.0 - risk))
    return _pareto_level(excesses, t, ratio, float(scores.max()), owner)


def _pareto_level(excesses: np.ndarray, t: float, ratio: float, highest: float, owner: Threshold) -> float:
    """``t`` plus the excess a generalized Pareto fit of ``excesses`` exceeds with probability ``ratio``."""
    if excesses.size < _POT_MIN_EXCESSES:
        owner.note_ = (f"only {excesses.size} tail points above {t:.4g} (need {_POT_MIN_EXCESSES}): used the highest "
                       "score; give more normal scores")
        return highest
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
        owner.note_ = f"generalized Pareto fit failed ({reason}): used the highest score"
        return highest
    return gpd_quantile(t, gamma, sigma, ratio)


def run_maxima(scores: np.ndarray, level: float) -> np.ndarray:
    """The highest score of every run of consecutive steps above ``level`` (one value per alarm event), in order."""
    scores = np.asarray(scores, dtype=np.float64)
    above = scores > level
    starts = np.flatnonzero(above & ~np.concatenate([[False], above[:-1]]))
    if starts.size == 0:
        return np.empty(0)
    return np.maximum.reduceat(np.where(above, scores, -np.inf), starts)  # a run's max; the gap after it is -inf


def alarm_events(scores, level: float) -> int:
    """How many alarm events ``scores > level`` raises: runs of consecutive flagged steps, as an operator sees them."""
    flagged = np.asarray(scores) > level
    return int(flagged[0]) + int(np.count_nonzero(flagged[1:] & ~flagged[:-1])) if flagged.size else 0


def _events_level(scores: np.ndarray, allowed: int) -> float:
    """The lowest level at or above which ``scores > level`` never raises more than ``allowed`` events.

    Steps are flagged one score at a time, highest first; each new step starts an event, or joins one or two
    neighbouring events. The level is the first score at which the count goes over ``allowed`` (so that score
    and everything below stays unflagged), or the lowest score when it never does.
    """
    order = np.argsort(-scores, kind="stable")
    flagged = np.zeros(scores.size + 2, dtype=bool)  # padded: flagged[i + 1] is step i
    events, i = 0, 0
    while i < order.size:
        value = scores[order[i]]
        j = i
        while j < order.size and scores[order[j]] == value:  # ties are flagged together
            step = order[j] + 1
            events += 1 - int(flagged[step - 1]) - int(flagged[step + 1])
            flagged[step] = True
            j += 1
        if events > allowed:
            return float(value)
        i = j
    return float(scores.min())


_BUDGET_MIN_EMPIRICAL = 5  # fewer allowed events than this in the calibration scores: extrapolate the tail
_TAIL_STARTS = (0.95, 0.9, 0.8, 0.7, 0.5)  # quantiles where the extrapolated tail may start, highest first


@dataclass
class AlarmBudget(Threshold):
    """At most ``alarms`` false alarm events per ``per`` steps of normal data, an event being a run of flagged steps.

    Why: an operator counts alarms, not flagged rows, and can say how many false ones a shift can bear. The level is
    fitted on scores of normal data in time order (the calibration scores):

    - when the calibration scores are long enough to hold at least 5 of the allowed events, it is the lowest level
      at which they raise no more than ``alarms * n / per`` events (counted exactly);
    - otherwise the tail is extrapolated with extreme-value theory (peaks over threshold on declustered runs):
      above the ``initial_quantile`` of the scores (lower, down to the median, until 10 runs lie above it) the
      runs of exceeding steps are the events; their peaks' excesses get a generalized Pareto fit (as
      :class:`POT`), and the level is where the fitted rate of events whose peak exceeds it meets the budget. It
      may lie beyond the highest score seen.

    On stationary normal data the realised rate stays within about a factor of two of the budget once the
    calibration holds a few thousand steps; a shorter calibration extrapolates further and varies more.
    """

    name: ClassVar[str] = "alarm_budget"
    alarms: float = 2.0
    per: int = 10_000
    initial_quantile: float = 0.95

    def __post_init__(self):
        if not (isinstance(self.alarms, (int, float)) and math.isfinite(self.alarms) and self.alarms > 0):
            raise InputError(f"AlarmBudget alarms must be a number > 0 (false alarm events allowed), got "
                             f"{self.alarms!r}")
        if not (isinstance(self.per, (int, float)) and math.isfinite(self.per) and self.per >= 1):
            raise InputError(f"AlarmBudget per must be a number of steps >= 1, got {self.per!r}")
        if not 0.0 < self.initial_quantile < 1.0:
            raise InputError(f"AlarmBudget initial_quantile must lie strictly between 0 and 1, got "
                             f"{self.initial_quantile}")

    def _compute(self, scores: np.ndarray) -> float:
        rate = self.alarms / self.per  # events per step
        allowed = rate * scores.size
        if allowed >= _BUDGET_MIN_EMPIRICAL:
            return _events_level(scores, int(math.floor(allowed)))
        for q in _TAIL_STARTS:  # the highest start of the tail that leaves enough events to fit
            t = float(np.quantile(scores, min(q, self.initial_quantile)))
            maxima = run_maxima(scores, t)
            if maxima.size >= _POT_MIN_EXCESSES:
                break
        # events above t arrive at maxima.size / n per step; one exceeds z when its peak does (a Pareto tail)
        ratio = rate * scores.size / max(maxima.size, 1)
        if ratio >= 1.0:  # cannot happen with enough events above t, but an awkward tie could
            return _events_level(scores, int(math.floor(allowed)))
        return _pareto_level(maxima - t, t, ratio, float(scores.max()), self)

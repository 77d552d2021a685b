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
``alarm_budget``          at most ``alarms`` false alarm *events* (runs of flagged steps) per ``per`` steps
                          (default 2 per 10,000), counted on the scores or extrapolated from their tail
========================  ======================================================================================

A number is a :class:`Fixed` level set by hand (``det.set_threshold(3.2)``).

When a threshold has to fall back from its method (too few tail points for POT, zero MAD), ``note_`` says
why; it is ``None`` otherwise and is saved with the threshold.

The label-using best-F1 search is not here: it is an *oracle* (``reconad.metrics.oracle_best_f1``).
"""

from __future__ import annotations

from reconad.errors import InputError
from reconad.thresholds.base import MAX_SCORE, Threshold
from reconad.thresholds.simple import Contamination, Fixed, MeanStd, MedianMAD, Quantile
from reconad.thresholds.tail import POT, AlarmBudget, alarm_events

THRESHOLDS: dict[str, type[Threshold]] = {
    cls.name: cls for cls in (Quantile, Contamination, MeanStd, MedianMAD, POT, AlarmBudget)
}


# every rule a saved file may carry: the named ones, and a level set by hand
SAVED: dict[str, type[Threshold]] = {**THRESHOLDS, Fixed.name: Fixed}


def make_threshold(spec: str | float | Threshold) -> Threshold:
    """A fresh, unfitted threshold from a name (``"quantile"``), a number (a :class:`Fixed` level) or a copy of a
    threshold object."""
    if isinstance(spec, Threshold):
        return type(spec)(**spec.params())
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return Fixed(value=float(spec))
    if isinstance(spec, str) and spec in THRESHOLDS:
        return THRESHOLDS[spec]()
    raise InputError(f"unknown threshold {spec!r}; pass one of {', '.join(THRESHOLDS)}, a number (a fixed level) or "
                     "a Threshold object")


def threshold_from_dict(data: dict) -> Threshold:
    """Rebuild a fitted threshold saved by ``Threshold.to_dict``."""
    try:
        threshold = SAVED[data["name"]](**data["params"])
        value = data["value"]
        threshold.value_ = None if value is None else float(value)
        note = data.get("note")
        threshold.note_ = None if note is None else str(note)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"invalid threshold description {data!r}: {exc}") from exc
    return threshold


__all__ = ["MAX_SCORE", "POT", "SAVED", "THRESHOLDS", "AlarmBudget", "Contamination", "Fixed", "MeanStd", "MedianMAD",
           "Quantile", "Threshold", "alarm_events", "make_threshold", "threshold_from_dict"]

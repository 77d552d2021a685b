"""Thresholds fitted on anomaly scores of *normal* data, without labels.

A threshold object is small: its parameters are set at construction, ``fit(scores)`` learns ``value_`` from
scores of normal data, and ``predict(scores)`` flags ``scores > value_``. ``to_dict`` / ``threshold_from_dict``
round-trip it through JSON for saved detectors.

The label-using best-F1 search is not here: it is an *oracle* (``reconad.metrics.oracle_best_f1``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from reconad.errors import InputError


def _check_scores(scores) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64).ravel()
    if s.size == 0:
        raise InputError("cannot fit a threshold on no scores; pass scores of some normal data")
    if not np.isfinite(s).all():
        raise InputError("scores contain NaN or infinite values; a threshold needs finite scores")
    return s


@dataclass
class Threshold:
    """Base class: subclasses define ``name`` and ``_compute(scores) -> float``."""

    name: ClassVar[str] = ""
    value_: float | None = field(default=None, init=False)

    def fit(self, scores) -> Threshold:
        self.value_ = float(self._compute(_check_scores(scores)))
        return self

    def _compute(self, scores: np.ndarray) -> float:
        raise NotImplementedError

    def predict(self, scores) -> np.ndarray:
        if self.value_ is None:
            raise InputError(f"{type(self).__name__} is not fitted; call fit(scores_of_normal_data) first")
        return (np.asarray(scores) > self.value_).astype(np.int8)

    def params(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}

    def to_dict(self) -> dict:
        return {"name": self.name, "params": self.params(), "value": self.value_}


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


THRESHOLDS: dict[str, type[Threshold]] = {cls.name: cls for cls in (Quantile,)}


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
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"invalid threshold description {data!r}: {exc}") from exc
    return threshold

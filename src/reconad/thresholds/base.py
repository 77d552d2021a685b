"""The threshold contract: parameters at construction, ``fit(scores)`` learns ``value_``, ``predict`` flags above it."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from reconad.errors import InputError
from reconad.validation import complex_message

MAX_SCORE = 1e150  # larger magnitudes overflow a variance; a detector's own scores stay far below (float32 data)


def check_scores(scores) -> np.ndarray:
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


def check_k(owner: str, k: float) -> None:
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
        self.value_ = float(self._compute(check_scores(scores)))
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

"""Point-wise metrics on ``(y_true, score)`` or ``(y_true, y_pred)``; scikit-learn computes where it can.

"Oracle" functions choose their threshold with the labels they are scored on: they say how good the best
possible threshold would be, not how good a real, label-free detector is. They are named so everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, precision_recall_fscore_support
from sklearn.metrics import roc_auc_score as _roc_auc

from reconad.errors import InputError
from reconad.validation import complex_message


def check_scored(y_true, other, what: str = "score") -> tuple[np.ndarray, np.ndarray]:
    """0/1 labels and finite numbers of one length, as int8 and float64 arrays, or one InputError naming the fix."""
    for name, values in (("labels", y_true), (what, other)):
        if np.iscomplexobj(values):
            raise InputError(complex_message(name))
    try:
        y_true = np.asarray(y_true, dtype=np.float64).ravel()
        other = np.asarray(other, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise InputError(f"labels and {what} must be numbers, one per step ({exc})") from exc
    if y_true.size == 0:
        raise InputError(f"labels and {what} are empty; pass at least one step")
    if y_true.shape != other.shape:
        raise InputError(f"labels have {y_true.size} values but {what} has {other.size}; pass one per step")
    if not np.isin(y_true, (0, 1)).all():
        raise InputError("labels must be 0 (normal) or 1 (anomaly)")
    if not np.isfinite(other).all():
        raise InputError(f"{what} contains NaN or infinite values")
    return y_true.astype(np.int8), other


def roc_auc(y_true, score) -> float:
    """Area under the ROC curve; NaN when only one class is present (it is undefined then)."""
    y, s = check_scored(y_true, score, "score")
    if y.min() == y.max():
        return float("nan")
    return float(_roc_auc(y, s))


def auprc(y_true, score) -> float:
    """Area under the precision-recall curve (scikit-learn's average precision); NaN without positives."""
    y, s = check_scored(y_true, score, "score")
    if y.sum() == 0:
        return float("nan")
    return float(average_precision_score(y, s))


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float


def check_predicted(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """0/1 labels and 0/1 predictions of the same length, as int8 arrays, or one InputError naming the fix."""
    y, p = check_scored(y_true, y_pred, "prediction")
    if not np.isin(p, (0, 1)).all():
        raise InputError("predictions must be 0 (normal) or 1 (anomaly); threshold the scores first")
    return y, p.astype(np.int8)


def point_prf(y_true, y_pred) -> PRF:
    """Point-wise precision, recall and F1 of 0/1 predictions (0 where undefined)."""
    y, p = check_predicted(y_true, y_pred)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, p.astype(np.int8), average="binary", zero_division=0.0
    )
    return PRF(float(precision), float(recall), float(f1))


def point_f1(y_true, y_pred) -> float:
    return point_prf(y_true, y_pred).f1


@dataclass(frozen=True)
class OracleF1:
    """The best F1 over thresholds chosen *with the test labels* (an oracle), and where it is reached."""

    f1: float
    precision: float
    recall: float
    threshold: float  # predict ``score > threshold`` or ``score >= threshold``, see each function


def oracle_best_f1(y_true, score) -> OracleF1:
    """Oracle best F1 over *every* threshold (``score >= threshold`` flags a step)."""
    y, s = check_scored(y_true, score, "score")
    if y.sum() == 0:
        return OracleF1(0.0, 0.0, 0.0, float("inf"))
    precision, recall, thresholds = precision_recall_curve(y, s)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    best = int(np.argmax(f1))
    return OracleF1(float(f1[best]), float(precision[best]), float(recall[best]), float(thresholds[best]))


def oracle_best_f1_grid(y_true, score, low: float = 50, high: float = 99, steps: int = 1000) -> OracleF1:
    """Oracle best F1 the course notebook's way: ``steps`` thresholds evenly in (p``low``, p``high``].

    Threshold ``k`` (``k = 1..steps``) is ``p_low + k * (p_high - p_low) / steps``; a step is flagged when its
    score is strictly greater. The first threshold reaching the best F1 is kept.
    """
    y, s = check_scored(y_true, score, "score")
    lo, hi = np.percentile(s, [low, high])
    thresholds = lo + np.arange(1, steps + 1) * (hi - lo) / steps  # (steps,)
    positives, negatives = np.sort(s[y == 1]), np.sort(s[y == 0])
    # number of scores strictly above each threshold, per class, without a (steps, T) matrix
    tp = (positives.size - np.searchsorted(positives, thresholds, side="right")).astype(np.float64)
    fp = (negatives.size - np.searchsorted(negatives, thresholds, side="right")).astype(np.float64)
    fn = positives.size - tp
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    recall = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    best = int(np.argmax(f1))
    return OracleF1(float(f1[best]), float(precision[best]), float(recall[best]), float(thresholds[best]))

"""Metric tables of a scored, labelled data set: threshold-free, at the label-free threshold, and the oracle's.

The evaluation is one plain dict (JSON-ready), the same for the ``reconad evaluate`` output, its ``--json``
file, the HTML report and the demo: :func:`series_evaluation` for a series (one score per step),
:func:`image_evaluation` for independent images (one score per image). :func:`metrics_text` prints it.
"""

from __future__ import annotations

import logging

import numpy as np

from reconad.metrics.events import event_f1, point_adjusted_f1, vus_pr
from reconad.metrics.point import auprc, oracle_best_f1, point_prf, roc_auc

log = logging.getLogger("reconad")

ORACLE_SOURCE = "best F1 over every threshold, chosen with the labels"
_EVENT_METRICS = {"event_f1": event_f1, "point_adjusted_f1": point_adjusted_f1}


def _value(result) -> float:
    return float(getattr(result, "f1", result))


def at_threshold(labels, predicted, events: bool = True) -> dict:
    """Point-wise precision, recall, F1 and the number flagged of 0/1 ``predicted`` against 0/1 ``labels``.

    ``events`` adds ``event_f1`` and ``point_adjusted_f1`` (for series, where neighbouring steps form events).
    """
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    prf = point_prf(labels, predicted)
    row = {"precision": prf.precision, "recall": prf.recall, "f1": prf.f1, "flagged": int(predicted.sum())}
    if events:
        for name, function in _EVENT_METRICS.items():
            try:
                row[name] = _value(function(labels, predicted))
            except (ValueError, TypeError) as exc:
                log.warning("%s could not be computed: %s", name, exc)
    return row


def one_class_note(labels, predicted) -> str | None:
    """For labels of one class, where AUPRC, ROC-AUC, recall or F1 are undefined: what the flags do measure."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)  # (T,) 0/1 arrays
    anomalies, n, flagged = int(labels.sum()), len(labels), int(predicted.sum())
    if anomalies == 0:
        return (f"The labels mark no anomaly: AUPRC, ROC-AUC, recall and F1 are undefined here; the label-free "
                f"threshold flags {flagged:,} of the {n:,} normal rows, a false-alarm rate of {flagged / n:.1%}.")
    if anomalies == n:
        return (f"The labels mark every row anomalous: ROC-AUC and the false-alarm rate are undefined here; the "
                f"label-free threshold flags {flagged:,} of the {n:,} rows, a recall of {flagged / n:.1%}.")
    return None


def _evaluation(labels, scores, predicted, threshold: float, threshold_source: str, series: bool) -> dict:
    labels = np.asarray(labels).astype(np.int8)
    scores = np.asarray(scores, dtype=np.float64)
    predicted = np.asarray(predicted).astype(np.int8)
    free = {"auprc": auprc(labels, scores), "roc_auc": roc_auc(labels, scores)}
    if series:
        try:
            free["vus_pr"] = _value(vus_pr(labels, scores))
        except (ValueError, TypeError) as exc:
            log.warning("vus_pr could not be computed: %s", exc)
    oracle = oracle_best_f1(labels, scores)
    oracle_pred = (scores >= oracle.threshold).astype(np.int8)
    evaluation = {
        "threshold_free": free,
        "label_free": {"threshold": float(threshold), "source": threshold_source,
                       **at_threshold(labels, predicted, events=series)},
        "oracle": {"threshold": float(oracle.threshold), "source": ORACLE_SOURCE,
                   **at_threshold(labels, oracle_pred, events=series)},
    }
    note = one_class_note(labels, predicted)
    if note:
        evaluation["note"] = note
    return evaluation


def series_evaluation(labels, scores, predicted, threshold: float, threshold_source: str = "") -> dict:
    """Metrics of a labelled, scored series ``(T,)``: threshold-free, at the label-free threshold, the oracle's.

    ``{"threshold_free": {auprc, roc_auc, vus_pr}, "label_free": {threshold, source, precision, recall, f1,
    flagged, event_f1, point_adjusted_f1}, "oracle": {the same at the best-F1 threshold chosen with the
    labels}}``. With no anomaly in ``labels`` AUPRC and ROC-AUC are NaN, and a ``"note"`` says what the flags
    measure instead (as with every row anomalous).
    """
    return _evaluation(labels, scores, predicted, threshold, threshold_source, series=True)


def image_evaluation(labels, scores, predicted, threshold: float, threshold_source: str = "") -> dict:
    """Per-image metrics: AUPRC, ROC-AUC; precision / recall / F1 at the label-free and the oracle threshold.

    The same layout as :func:`series_evaluation` without the event metrics and VUS-PR, which mean nothing
    for independent images.
    """
    return _evaluation(labels, scores, predicted, threshold, threshold_source, series=False)


THRESHOLD_KEYS = ("precision", "recall", "f1", "event_f1", "point_adjusted_f1")


def metrics_text(evaluation: dict) -> str:
    """The evaluation as a plain-text table: threshold-free metrics, then label-free next to oracle."""
    free = evaluation["threshold_free"]
    lines = ["threshold-free: " + ", ".join(f"{k} {v:.4f}" for k, v in free.items())]
    keys = [k for k in THRESHOLD_KEYS if k in evaluation["label_free"]]
    header = f"{'threshold':<12} {'value':>10} " + " ".join(f"{k:>10}" for k in keys)
    lines += [header, "-" * len(header)]
    for kind in ("label_free", "oracle"):
        m = evaluation[kind]
        lines.append(f"{kind.replace('_', '-'):<12} {m['threshold']:>10.4g} "
                     + " ".join(f"{m[k]:>10.4f}" for k in keys))
    lines.append("oracle: threshold chosen with the labels (not available to a real detector).")
    if "note" in evaluation:
        lines.append(evaluation["note"])
    return "\n".join(lines)

"""Pure metric functions. Names carry the variant; functions named ``oracle_*`` use the test labels."""

from reconad.metrics.counts import (
    ORACLE_FAR,
    confusion,
    oracle_confusion_at_far,
    oracle_confusion_pooled_far,
    pooled_counts,
    rates,
)
from reconad.metrics.evaluation import image_evaluation, metrics_text, one_class_note, series_evaluation
from reconad.metrics.events import (
    EventPRF,
    detection_delays,
    event_f1,
    event_prf,
    point_adjust,
    point_adjusted_f1,
    range_auc_pr,
    vus_pr,
)
from reconad.metrics.pixels import PRO_FPR_LIMIT, pixel_roc_auc, pro_auc, pro_curve
from reconad.metrics.point import (
    PRF,
    OracleF1,
    auprc,
    oracle_best_f1,
    oracle_best_f1_grid,
    point_f1,
    point_prf,
    roc_auc,
)
from reconad.metrics.regions import regions, regions_to_labels

__all__ = [
    "PRF",
    "OracleF1",
    "auprc",
    "oracle_best_f1",
    "oracle_best_f1_grid",
    "point_f1",
    "point_prf",
    "roc_auc",
    "pixel_roc_auc",
    "pro_auc",
    "pro_curve",
    "PRO_FPR_LIMIT",
    "regions",
    "regions_to_labels",
    "EventPRF",
    "detection_delays",
    "event_f1",
    "event_prf",
    "point_adjust",
    "point_adjusted_f1",
    "range_auc_pr",
    "vus_pr",
    "series_evaluation",
    "image_evaluation",
    "one_class_note",
    "metrics_text",
    "ORACLE_FAR",
    "confusion",
    "oracle_confusion_at_far",
    "oracle_confusion_pooled_far",
    "pooled_counts",
    "rates",
]

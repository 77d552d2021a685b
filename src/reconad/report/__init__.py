"""A self-contained HTML report: one file, figures embedded as base64 PNG, inline CSS, no script, no network.

The report takes computed arrays and plain values and never runs a model (``reconad.report_inputs`` computes
them from a fitted detector):

- :mod:`reconad.report.html`: the building blocks (:class:`Section`, tables, figures, :func:`render`,
  :func:`write_report`);
- :mod:`reconad.report.sections`: the data, training history, metrics and model card (:class:`ModelFacts`);
- :mod:`reconad.report.series`: :func:`series_report` of a scored series;
- :mod:`reconad.report.images`: :func:`image_report` of scored images.
"""

from reconad.report.html import Section, esc, figure_png, fmt, img, key_values, paragraph, render, table, write_report
from reconad.report.images import ImageSamples, image_figures, image_report, pick_samples
from reconad.report.sections import (
    ORACLE_NOTE,
    ModelFacts,
    data_section,
    fingerprint_arrays,
    fingerprint_file,
    history_section,
    metrics_html,
    model_card_html,
    time_span,
)
from reconad.report.series import (
    MAX_POINTS,
    SeriesDetail,
    block_max,
    detail_range,
    envelope,
    region_features,
    scores_section,
    series_report,
)

__all__ = [
    "Section", "esc", "figure_png", "fmt", "img", "key_values", "paragraph", "render", "table", "write_report",
    "ImageSamples", "image_figures", "image_report", "pick_samples",
    "ORACLE_NOTE", "ModelFacts", "data_section", "fingerprint_arrays", "fingerprint_file", "history_section",
    "metrics_html", "model_card_html", "time_span",
    "MAX_POINTS", "SeriesDetail", "block_max", "detail_range", "envelope", "region_features", "scores_section",
    "series_report",
]

"""A self-contained HTML report: one file, figures embedded as base64 PNG, inline CSS (and, for a series, an
inline interactive chart), no network.

The report takes computed arrays and plain values and never runs a model (``reconad.report_inputs`` computes
them from a fitted detector):

- :mod:`reconad.report.html`: the building blocks (:class:`Section`, tables, figures, :func:`render`,
  :func:`write_report`);
- :mod:`reconad.report.sections`: the data, training history, metrics and model card (:class:`ModelFacts`);
- :mod:`reconad.report.series`: :func:`series_report` of a scored series;
- :mod:`reconad.report.timeline`: its interactive timeline (uPlot, inlined), :mod:`reconad.report.decimate` the
  min/max decimation that keeps it small, :mod:`reconad.report.static` its PNG fallback,
  :mod:`reconad.report.top_regions` the table of the top regions;
- :mod:`reconad.report.images`: :func:`image_report` of scored images.
"""

from reconad.report.html import Section, esc, figure_png, fmt, img, key_values, paragraph, render, table, write_report
from reconad.report.images import ImageSamples, image_figures, image_report, pick_samples, worst_indices
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
    DETAIL_ROWS,
    MAX_POINTS,
    SeriesDetail,
    block_max,
    detail_range,
    scores_section,
    series_report,
)
from reconad.report.static import timeline_figure
from reconad.report.timeline import TimelineData, build_timeline, timeline_html
from reconad.report.top_regions import top_regions

__all__ = [
    "Section", "esc", "figure_png", "fmt", "img", "key_values", "paragraph", "render", "table", "write_report",
    "ImageSamples", "image_figures", "image_report", "pick_samples", "worst_indices",
    "ORACLE_NOTE", "ModelFacts", "data_section", "fingerprint_arrays", "fingerprint_file", "history_section",
    "metrics_html", "model_card_html", "time_span",
    "DETAIL_ROWS", "MAX_POINTS", "SeriesDetail", "block_max", "detail_range", "scores_section", "series_report",
    "TimelineData", "build_timeline", "timeline_figure", "timeline_html", "top_regions",
]

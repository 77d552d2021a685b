"""The report of a scored series: the data, training history, an interactive timeline (with its static PNG),
which sensor, the top regions, the threshold, metrics and the model card.

:func:`series_report` takes arrays its caller computed — scores, predicted labels, the threshold's value, the
reconstruction of the detail range, the per-feature contributions — and never runs a model.
``reconad.report_inputs.series_report_of`` computes them from a fitted ``SeriesDetector`` and calls it. One sensor
or many, the report has the same sections; a series of any length stays a small, fast page
(:mod:`reconad.report.timeline`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from reconad.errors import InputError
from reconad.metrics.evaluation import series_evaluation
from reconad.report.html import Section, figure_png, fmt, img, paragraph, render
from reconad.report.sections import ModelFacts, closing_sections, shared_sections
from reconad.report.static import timeline_figure
from reconad.report.threshold import threshold_section
from reconad.report.timeline import build_timeline, head_html, sensors_to_draw, timeline_html
from reconad.report.top_regions import top_regions

MAX_POINTS = 20_000  # the "which sensor" heatmap draws longer series as block maxima
DETAIL_ROWS = 200_000  # rows reconstructed for the timeline: all of a series up to this length, else around the peak
PEAK_ROWS = 1_000  # rows (at least a few windows) of the static zoom around the highest score
STATIC_DPI = 72  # the static fallback of the interactive chart: legible, and half the bytes of 100 dpi


@dataclass(frozen=True)
class SeriesDetail:
    """The reconstruction ``(L, D)`` of the rows ``start .. start + L`` that the timeline draws.

    ``start`` and ``L`` come from :func:`detail_range`.
    """

    start: int
    reconstruction: np.ndarray


def block_max(values):
    """``values`` (``(T,)`` or ``(T, D)``) cut to at most ``MAX_POINTS`` rows by block maxima (peaks survive);
    None stays None."""
    if values is None or len(values) <= MAX_POINTS:
        return values
    return np.maximum.reduceat(np.asarray(values), np.arange(0, len(values), math.ceil(len(values) / MAX_POINTS)))


def detail_range(scores, window: int) -> tuple[int, int]:
    """The rows whose reconstruction the timeline draws: all up to ``DETAIL_ROWS``, else ``DETAIL_ROWS`` (at least
    one ``window``) centred on the highest score."""
    length = len(scores)
    if length <= DETAIL_ROWS:
        return 0, length
    span = max(DETAIL_ROWS, window)
    start = min(max(0, int(np.argmax(scores)) - span // 2), length - span)
    return start, start + span


def _peak_rows(scores, length: int) -> tuple[int, int]:
    """``PEAK_ROWS`` rows centred on the highest score."""
    span = min(PEAK_ROWS, length)
    start = min(max(0, int(np.nanargmax(scores)) - span // 2), length - span)
    return start, start + span


def _names(x) -> list[str]:
    return [str(c) for c in getattr(x, "columns", [])] or [f"feature {i}" for i in range(np.shape(x)[1])]


def _contributions_figure(contributions, names, predicted, time, training) -> str:
    """The "which sensor" heatmap on block maxima, on the same time axis, training rows marked."""
    from reconad.plots import plot_contributions

    length = len(predicted)
    size = math.ceil(length / MAX_POINTS) if length > MAX_POINTS else 1
    axis = None if time is None else np.asarray(time)[::size]
    if axis is None and size > 1:
        axis = np.arange(0, length, size)
    drawn_training = None if training is None else (training[0] // size, math.ceil(training[1] / size))
    figure = plot_contributions(block_max(contributions), names, block_max(predicted), axis, training=drawn_training)
    return img(figure_png(figure), "sensor contributions",
               "Which sensor: each feature's contribution to the score over time (its squared reconstruction error, "
               "det.explain), on a log colour scale; flagged regions in green above"
               + ("; the training rows hatched grey." if training is not None else "."))


def scores_section(x, scores, predicted, labels, *, threshold: float, threshold_source: str,
                   detail: SeriesDetail | None, contributions=None, time=None, training=None) -> Section:
    """Flag counts, the interactive timeline with its static fallback, which sensor (with several) and the table
    of the top regions."""
    from reconad.report.decimate import runs

    names = _names(x)
    reconstruction = None if detail is None else (detail.start, detail.reconstruction)
    sensors = sensors_to_draw(contributions, predicted, len(names))
    common = dict(threshold=threshold, names=names, time=time, training=training, reconstruction=reconstruction,
                  sensors=sensors)
    data = build_timeline(x, scores, predicted, labels, **common)
    shaded = (f"; the training rows ({training[0]:,} to {training[1] - 1:,}) shaded grey on every panel"
              if training is not None else "")
    caption = ("The data (blue) and its reconstruction (orange, dashed); the anomaly score with the label-free "
               "threshold (red, dashed); flagged regions green in the lower half, true anomalies red in the upper half"
               + shaded + ".")
    interactive = timeline_html(data, caption)
    overview = img(figure_png(timeline_figure(data), dpi=STATIC_DPI), "score timeline", "All rows: " + caption)
    peak = _peak_rows(scores, len(scores))
    zoom = ""
    if len(scores) > 4 * PEAK_ROWS:  # a close-up only where the overview is too coarse to show single rows
        close = build_timeline(x, scores, predicted, labels, rows=peak, **common)
        zoom = img(figure_png(timeline_figure(close), dpi=STATIC_DPI), "around the highest score",
                   f"Rows {peak[0]:,} to {peak[1] - 1:,}, around the highest score, at full resolution.")
    static = ('<noscript><p class="note">JavaScript is off: the static figures below show the same timeline.</p>'
              f'</noscript><details class="static"><summary>Static figures (PNG)</summary>{overview}{zoom}</details>')
    sensors = "" if contributions is None else _contributions_figure(contributions, names, predicted, time, training)
    spans = runs(predicted)
    summary = paragraph(f"{int(np.sum(predicted)):,} of {len(predicted):,} rows flagged, in {len(spans):,} region(s); "
                        f"threshold {fmt(threshold)} ({threshold_source}).")
    regions_table = "<h3>Top regions</h3>" + top_regions(spans, scores, names, contributions, time)
    return Section("Scores and regions", summary + interactive + static + sensors + regions_table)


def check_training(training, length: int) -> tuple[int, int] | None:
    """``training`` as a half-open ``(start, end)`` row range inside ``length`` rows (None stays None)."""
    if training is None:
        return None
    from reconad.explain import row_range

    try:
        return row_range(training, length)
    except InputError as error:
        raise InputError(f"training: {error}") from None


def series_report(x, scores, predicted, labels=None, *, facts: ModelFacts, detail: SeriesDetail | None,
                  contributions=None, time=None, data_info: Mapping[str, object], training=None,
                  title: str = "reconad report") -> tuple[str, dict | None]:
    """The HTML report of a scored series and its metrics: ``(html, evaluation or None)``.

    ``x`` ``(T, D)`` (array or DataFrame, whose columns name the features), ``scores`` / ``predicted`` ``(T,)``,
    ``labels`` ``(T,)`` 0/1 or None, ``facts`` the fitted detector's :class:`ModelFacts`, ``detail`` the
    reconstruction of :func:`detail_range`'s rows, ``contributions`` ``(T, D)`` or None, ``time`` the time index
    or None; ``data_info`` is shown in the data section; ``training`` the half-open ``(start, end)`` rows of ``x``
    the model was trained on (shaded on every timeline, left out of the metrics) or None. The evaluation is
    ``reconad.metrics.series_evaluation`` at ``facts.threshold`` of the rows outside ``training``.
    """
    scores, predicted = np.asarray(scores), np.asarray(predicted)
    labels = None if labels is None else np.asarray(labels)
    if len(predicted) != len(scores) or (labels is not None and len(labels) != len(scores)):
        raise ValueError(f"scores ({len(scores)}), predicted labels ({len(predicted)}) and labels "
                         f"({'none' if labels is None else len(labels)}) must have one value per step")
    training = check_training(training, len(scores))
    sections = shared_sections(facts, data_info)
    sections.append(scores_section(x, scores, predicted, labels, threshold=facts.threshold,
                                   threshold_source=facts.threshold_source, detail=detail,
                                   contributions=contributions, time=time, training=training))
    threshold = threshold_section(facts.calibration, scores, facts.threshold, facts.threshold_source)
    if threshold is not None:
        sections.append(threshold)
    evaluation = None
    if labels is not None:  # the rows the model trained on stay out of the metrics (it learned them)
        kept = np.ones(len(scores), dtype=bool)
        if training is not None:
            kept[training[0]:training[1]] = False
        evaluation = series_evaluation(labels[kept], scores[kept], predicted[kept], facts.threshold,
                                       facts.threshold_source)
    sections += closing_sections(evaluation, facts, "No labels given: only label-free results (the predicted regions "
                                                    "above). Pass --labels COLUMN for metrics.")
    subtitle = f"{facts.detector} ({facts.model}) on {data_info.get('name', 'data')}"
    return render(title, sections, subtitle, head=head_html()), evaluation

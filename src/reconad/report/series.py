"""The report of a scored series: the data, training history, score timeline, which sensor, metrics, model card.

:func:`series_report` takes arrays its caller computed — scores, predicted labels, the threshold's value, the
reconstruction of the detail range, the per-feature contributions — and never runs a model.
``reconad.report_inputs.series_report_of`` computes them from a fitted ``SeriesDetector`` and calls it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from reconad.metrics.evaluation import series_evaluation
from reconad.report.html import Section, figure_png, img, paragraph, render, table
from reconad.report.sections import ModelFacts, closing_sections, shared_sections
from reconad.report.threshold import threshold_section

MAX_POINTS = 20_000  # longer series are drawn as block maxima (timeline) or around the highest score (detail)


@dataclass(frozen=True)
class SeriesDetail:
    """The reconstruction ``(L, D)`` of the rows ``start .. start + L`` that the detail figure draws.

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


def envelope(scores, labels, predicted, time):
    """``(scores, labels, predicted, time)`` cut to at most ``MAX_POINTS`` by block maxima (peaks survive)."""
    length = len(scores)
    if length <= MAX_POINTS:
        return scores, labels, predicted, time
    starts = np.arange(0, length, math.ceil(length / MAX_POINTS))
    axis = starts if time is None else np.asarray(time)[starts]
    return block_max(scores), block_max(labels), block_max(predicted), axis


def detail_range(scores, window: int) -> tuple[int, int]:
    """The rows the detail figure draws: all, or ``MAX_POINTS`` (at least one ``window``) centred on the peak."""
    length = len(scores)
    if length <= MAX_POINTS:
        return 0, length
    span = max(MAX_POINTS, window)
    start = min(max(0, int(np.argmax(scores)) - span // 2), length - span)
    return start, start + span


def region_features(contributions, spans, scores, names, top: int = 3, shown: int = 20) -> str:
    """A table of the predicted regions with the highest scores and the features that drove each, from
    per-feature contributions ``(T, D)`` (``SeriesDetector.explain``)."""
    from reconad.explain import region_shares

    if not spans:
        return ""
    ranked = sorted(spans, key=lambda span: -float(np.max(scores[span[0]:span[1]])))[:shown]
    rows = []
    for region in region_shares(contributions, ranked, list(names), top):
        begin, end = region["start"], region["end"]
        top_features = ", ".join(f"{f['feature']} ({100 * f['share']:.0f}%)" for f in region["features"])
        rows.append([f"{begin:,}", f"{end:,}", f"{end - begin:,}", f"{float(np.max(scores[begin:end])):.4g}",
                     top_features])
    caption = (f"Top features of the {len(rows)} predicted region(s) with the highest scores"
               + (f" (of {len(spans)})" if len(spans) > len(rows) else "")
               + ": each feature's share of the region's mean squared reconstruction error (det.explain).")
    return paragraph(caption) + table(["start", "end", "steps", "max score", "top features (share)"], rows)


def _detail_figure(x, scores, predicted, labels, threshold: float, detail: SeriesDetail, names, contributions):
    from reconad.plots import plot_scores

    start, end = detail.start, detail.start + len(detail.reconstruction)
    shown = 0 if contributions is None else int(np.argmax(contributions[start:end].mean(axis=0)))
    which = (f"the feature that contributes most there ({names[shown]})" if contributions is not None
             else f"the feature ({names[0]})")
    part = np.asarray(x)[start:end]
    where = f"steps {start:,} to {end - 1:,} around the highest score (x axis: step index from {start:,})"
    figure = plot_scores(part, np.asarray(detail.reconstruction), scores[start:end], threshold,
                         None if labels is None else labels[start:end], predicted[start:end],
                         title=str(names[shown]), feature=shown)
    return img(figure_png(figure), "input, reconstruction and score",
               f"Input and reconstruction of {which}; the score; true vs predicted regions"
               + (f" — {where}" if end - start < len(scores) else " (x axis: step index)") + ".")


def scores_section(x, scores, predicted, labels, *, threshold: float, threshold_source: str, detail: SeriesDetail,
                   contributions=None, time=None) -> Section:
    """Flag counts, the score timeline, which sensor (with several), the detail figure and the regions table."""
    from reconad.metrics import regions
    from reconad.plots import plot_contributions, plot_score_timeline

    names = [str(c) for c in getattr(x, "columns", [])] or [f"feature {i}" for i in range(np.shape(x)[1])]
    drawn, drawn_labels, drawn_predicted, drawn_time = envelope(scores, labels, predicted, time)
    blocks = math.ceil(len(scores) / MAX_POINTS)
    timeline = img(figure_png(plot_score_timeline(drawn, threshold, drawn_labels, drawn_predicted, drawn_time)),
                   "score timeline",
                   "Anomaly score per step with the label-free threshold; true regions shaded red in the upper half, "
                   "predicted regions green in the lower half."
                   + (f" {len(scores):,} steps drawn as the maximum over blocks of {blocks:,} steps."
                      if len(scores) > MAX_POINTS else ""))
    sensors = ""
    if contributions is not None:
        sensors = img(figure_png(plot_contributions(block_max(contributions), names, drawn_predicted, drawn_time)),
                      "sensor contributions",
                      "Which sensor: each feature's contribution to the score over time (its squared reconstruction "
                      "error, det.explain), on a log colour scale; predicted regions in green above.")
    detail_figure = _detail_figure(x, scores, predicted, labels, threshold, detail, names, contributions)
    spans = regions(predicted)
    summary = paragraph(f"{int(np.sum(predicted)):,} of {len(predicted):,} steps flagged, in {len(spans)} predicted "
                        f"region(s); threshold {threshold:.4g} ({threshold_source}).")
    features_table = "" if contributions is None else region_features(contributions, spans, scores, names)
    return Section("Scores and regions", summary + timeline + sensors + detail_figure + features_table)


def series_report(x, scores, predicted, labels=None, *, facts: ModelFacts, detail: SeriesDetail,
                  contributions=None, time=None, data_info: Mapping[str, object],
                  title: str = "reconad report") -> tuple[str, dict | None]:
    """The HTML report of a scored series and its metrics: ``(html, evaluation or None)``.

    ``x`` ``(T, D)`` (array or DataFrame, whose columns name the features), ``scores`` / ``predicted`` ``(T,)``,
    ``labels`` ``(T,)`` 0/1 or None, ``facts`` the fitted detector's :class:`ModelFacts`, ``detail`` the
    reconstruction of :func:`detail_range`'s rows, ``contributions`` ``(T, D)`` or None, ``time`` the time index
    or None; ``data_info`` is shown in the data section. The evaluation is
    ``reconad.metrics.series_evaluation`` at ``facts.threshold``.
    """
    scores, predicted = np.asarray(scores), np.asarray(predicted)
    labels = None if labels is None else np.asarray(labels)
    if len(predicted) != len(scores) or (labels is not None and len(labels) != len(scores)):
        raise ValueError(f"scores ({len(scores)}), predicted labels ({len(predicted)}) and labels "
                         f"({'none' if labels is None else len(labels)}) must have one value per step")
    sections = shared_sections(facts, data_info)
    sections.append(scores_section(x, scores, predicted, labels, threshold=facts.threshold,
                                   threshold_source=facts.threshold_source, detail=detail,
                                   contributions=contributions, time=time))
    threshold = threshold_section(facts.calibration, scores, facts.threshold, facts.threshold_source)
    if threshold is not None:
        sections.append(threshold)
    evaluation = None
    if labels is not None:
        evaluation = series_evaluation(labels, scores, predicted, facts.threshold, facts.threshold_source)
    sections += closing_sections(evaluation, facts, "No labels given: only label-free results (the predicted regions "
                                                    "above). Pass --labels COLUMN for metrics.")
    subtitle = f"{facts.detector} ({facts.model}) on {data_info.get('name', 'data')}"
    return render(title, sections, subtitle), evaluation

"""The report of scored images: the data, training history, ROC curve and score histograms, a grid of inputs
next to their reconstructions and error maps, the metrics and the model card.

:func:`image_report` takes arrays its caller computed (scores, predicted labels, the reconstructions and error
maps of the images :func:`pick_samples` chose) and never runs a model. ``reconad.report_inputs.image_report_of``
computes them from a fitted ``ImageDetector`` and calls it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from reconad.metrics.evaluation import image_evaluation
from reconad.report.html import Section, figure_png, fmt, img, paragraph, render
from reconad.report.sections import ModelFacts, closing_sections, shared_sections


@dataclass(frozen=True)
class ImageSamples:
    """A few images ``(K, C, H, W)`` with their reconstructions (same shape), anomaly maps ``(K, H, W)`` and one
    caption each; ``worst`` optionally holds the highest-scored images with their maps and captions, drawn with
    the maps overlaid."""

    images: np.ndarray
    reconstructions: np.ndarray
    error_maps: np.ndarray
    captions: Sequence[str]
    worst: tuple[np.ndarray, np.ndarray, Sequence[str]] | None = None


def worst_indices(scores, shown: int = 8) -> np.ndarray:
    """The indices of the ``shown`` highest scores, highest first."""
    return np.argsort(np.asarray(scores), kind="stable")[::-1][:shown]


def _two_classes(labels) -> bool:
    return labels is not None and len(np.unique(labels)) == 2


def pick_samples(scores, labels=None, shown: int = 8) -> tuple[np.ndarray, list[str]]:
    """The indices of the images to draw and their captions: the first normal and anomalous ones with labels of
    both classes (half each), else the highest scores."""
    scores = np.asarray(scores)
    if _two_classes(labels):
        labels = np.asarray(labels)
        half = shown // 2
        pick = np.concatenate([np.flatnonzero(labels == 0)[:half], np.flatnonzero(labels == 1)[:half]])
        return pick, ["anomaly" if labels[i] else "normal" for i in pick]
    pick = np.argsort(scores)[::-1][:shown]  # the highest scores first
    return pick, [f"score {scores[i]:.3g}" for i in pick]


def image_figures(model: str, scores, samples: ImageSamples, labels=None) -> list[str]:
    """ROC curve and score histograms (with labels of both classes), then inputs next to reconstructions and
    error maps (each map scaled to the largest error shown)."""
    from reconad.plots_images import plot_reconstruction_grid, plot_roc_curves, plot_score_histograms

    figures = []
    if _two_classes(labels):
        figures.append(img(figure_png(plot_roc_curves({model: (labels, scores)})), "ROC curve",
                           "ROC curve of the image scores."))
        figures.append(img(figure_png(plot_score_histograms({"scores": (labels, scores)})), "score histograms",
                           "Score histograms of normal and anomalous images."))
    errors = np.asarray(samples.error_maps)
    errors = errors / max(float(errors.max()), 1e-12)  # scaled to [0, 1] for display
    grid = plot_reconstruction_grid(samples.images, {"reconstruction": samples.reconstructions, "error map": errors},
                                    list(samples.captions))
    figures.append(img(figure_png(grid), "inputs, reconstructions and error maps",
                       "Inputs (top), their reconstructions and anomaly maps (scaled to the largest error "
                       "shown)."))
    if samples.worst is not None:
        from reconad.plots_images import plot_map_overlays

        worst_images, worst_maps, captions = samples.worst
        figures.append(img(figure_png(plot_map_overlays(worst_images, worst_maps, list(captions))),
                           "the worst images with their anomaly maps",
                           "The highest-scored images, their anomaly maps (the per-pixel error) laid over them: "
                           "where the model could not reconstruct the image."))
    return figures


def image_report(scores, predicted, labels=None, *, facts: ModelFacts, samples: ImageSamples,
                 data_info: Mapping[str, object], title: str = "reconad report") -> tuple[str, dict | None]:
    """The HTML report of scored images and its metrics: ``(html, evaluation or None)``.

    ``scores`` / ``predicted`` ``(N,)``, ``labels`` ``(N,)`` 0/1 or None, ``facts`` the fitted detector's
    :class:`ModelFacts`, ``samples`` the images to draw; the evaluation is
    ``reconad.metrics.image_evaluation`` at ``facts.threshold``.
    """
    scores, predicted = np.asarray(scores), np.asarray(predicted)
    labels = None if labels is None else np.asarray(labels)
    sections = shared_sections(facts, data_info)
    summary = paragraph(f"{int(predicted.sum())} of {len(predicted)} images flagged at the label-free threshold "
                        f"{fmt(facts.threshold)} ({facts.threshold_source}).")
    figures = "".join(image_figures(facts.model, scores, samples, labels))
    sections.append(Section("Scores and reconstructions", summary + figures))
    evaluation = None
    if labels is not None:
        evaluation = image_evaluation(labels, scores, predicted, facts.threshold, facts.threshold_source)
    sections += closing_sections(evaluation, facts)
    subtitle = f"{facts.detector} ({facts.model}) on {data_info.get('name', 'images')}"
    return render(title, sections, subtitle), evaluation

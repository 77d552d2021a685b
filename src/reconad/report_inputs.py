"""What a report shows of a fitted detector, computed here so that the report itself never runs a model.

:func:`model_facts` reads a fitted detector's public attributes into :class:`reconad.report.ModelFacts`;
:func:`series_report_of` and :func:`image_report_of` run the detector for the arrays their report draws (the
reconstruction of the detail range, per-feature contributions, reconstructions and error maps of a few images)
and call :func:`reconad.report.series_report` / :func:`reconad.report.image_report`. The command line and the
demo use them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from reconad.report import ImageSamples, ModelFacts, SeriesDetail, detail_range, image_report, pick_samples
from reconad.report import series_report as _series_report
from reconad.report.html import fmt


def model_card(det, fingerprint: str | None = None) -> dict:
    """The model card of a fitted detector as label -> value: model, seed, version, threshold and its source,
    epochs, features, window or image shape, and the fingerprint of the data the report shows."""
    from reconad import __version__

    threshold = det.threshold_
    card = {
        "detector": type(det).__name__,
        "model": det.model,
        "reconad version": __version__,
        "seed (seed_)": getattr(det, "seed_", None),
        "device": str(getattr(det, "device_", det.device)),
        "threshold": f"{threshold.name} {threshold.params()} → {fmt(float(threshold))}",
        "threshold source": getattr(det, "threshold_source_", "n/a"),
        "epochs trained (best epoch kept)": f"{len(det.history_)} ({getattr(det, 'best_epoch_', None)})",
    }
    if getattr(det, "feature_names_in_", None):
        card["features"] = ", ".join(str(name) for name in det.feature_names_in_)
    elif getattr(det, "n_features_in_", None) is not None:
        card["features"] = f"{det.n_features_in_} (unnamed)"
    if getattr(det, "window_", None) is not None:
        card["window, training stride (window_, stride_)"] = f"{det.window_}, {det.stride_}"
    drifting = getattr(det, "drifting_features_", None)
    if drifting is not None:
        card["centred on each window's mean (drift)"] = ", ".join(str(f) for f in drifting) or "none"
    if getattr(det, "image_shape_", None) is not None:
        card["image shape (C, H, W)"] = str(tuple(det.image_shape_))
    if fingerprint:
        card["data fingerprint (the data in this report)"] = fingerprint
    return card


def model_facts(det, fingerprint: str | None = None) -> ModelFacts:
    """A fitted detector's :class:`~reconad.report.ModelFacts` (public attributes only)."""
    parameters = {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in det.get_params().items()}
    return ModelFacts(detector=type(det).__name__, model=str(det.model), threshold=float(det.threshold_),
                      threshold_source=str(getattr(det, "threshold_source_", "")), history=list(det.history_),
                      card=model_card(det, fingerprint), parameters=parameters,
                      calibration=getattr(det, "calibration_scores_", None))


def series_detail(det, x, scores) -> SeriesDetail:
    """The reconstruction of the rows the detail figure draws (all, or those around the highest score)."""
    start, end = detail_range(scores, det.window_)
    part = x.iloc[start:end] if hasattr(x, "iloc") else np.asarray(x)[start:end]
    return SeriesDetail(start, np.asarray(det.reconstruct(part)))


def series_report_of(det, x, scores, predicted, labels=None, *, time=None, data_info: Mapping[str, object],
                     fingerprint: str | None = None, contributions=None,
                     title: str = "reconad report") -> tuple[str, dict | None]:
    """:func:`reconad.report.series_report` of ``x`` ``(T, D)`` scored by a fitted ``SeriesDetector``.

    ``contributions`` (``det.explain(x)``, ``(T, D)``) is computed when not given and ``x`` has several features.
    """
    if contributions is None and np.shape(x)[1] > 1:
        contributions = det.explain(x)  # (T, D): which sensor, for several
    return _series_report(x, scores, predicted, labels, facts=model_facts(det, fingerprint),
                          detail=series_detail(det, x, scores), contributions=contributions, time=time,
                          data_info=data_info, title=title)


def image_samples(det, images, scores, labels=None, shown: int = 8) -> ImageSamples:
    """A few images (the first of each class with labels, else the highest scores) with their reconstructions
    and error maps."""
    pick, captions = pick_samples(scores, labels, shown)
    chosen = np.asarray(images)[pick]
    return ImageSamples(chosen, np.asarray(det.reconstruct(chosen)), np.asarray(det.error_map(chosen)), captions)


def image_report_of(det, images, scores, predicted, labels=None, *, data_info: Mapping[str, object],
                    fingerprint: str | None = None, title: str = "reconad report") -> tuple[str, dict | None]:
    """:func:`reconad.report.image_report` of ``images`` ``(N, C, H, W)`` scored by a fitted ``ImageDetector``."""
    return image_report(scores, predicted, labels, facts=model_facts(det, fingerprint),
                        samples=image_samples(det, images, scores, labels), data_info=data_info, title=title)

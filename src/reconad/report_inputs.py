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

from reconad.report import (
    ImageSamples,
    ModelFacts,
    SeriesDetail,
    detail_range,
    image_report,
    pick_samples,
    worst_indices,
)
from reconad.report import series_report as _series_report
from reconad.report.html import fmt


def _num(value) -> str:
    """A setting as its user would type it: ``4``, ``0.001``, ``10,000``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{int(value):,}"
    return f"{float(value):g}" if isinstance(value, (float, np.floating)) else str(value)


def threshold_rule(threshold) -> str:
    """A threshold rule in words: ``mean + 4 std``, ``0.99 quantile``, ``2 alarms per 10,000 steps``, ..."""
    p = {k: _num(v) for k, v in threshold.params().items()}
    rules = {
        "mean_std": lambda: f"mean + {p['k']} std",
        "median_mad": lambda: f"median + {p['k']} × 1.4826 MAD",
        "quantile": lambda: f"{p['q']} quantile",
        "contamination": lambda: f"the top {p['rate']} (contamination)",
        "pot": lambda: f"peaks over threshold (risk {p['risk']}, initial quantile {p['initial_quantile']})",
        "alarm_budget": lambda: f"{p['alarms']} alarms per {p['per']} steps (alarm budget)",
    }
    if threshold.name == "fixed":
        return "a fixed value"
    rule = rules.get(threshold.name)
    return rule() if rule else f"{threshold.name} ({', '.join(f'{k} {v}' for k, v in p.items())})"


def threshold_applied(threshold) -> str:
    """The fitted threshold as what was applied: ``mean + 4 std of the calibration scores = 3.73``."""
    value = fmt(float(threshold))
    if threshold.name == "fixed":
        return f"fixed at {value}"
    return f"{threshold_rule(threshold)} of the calibration scores = {value}"


# the detector parameters under the names a reader knows them by (the option in brackets where it differs)
PARAMETER_LABELS = {
    "model": "model", "window": "window (steps)", "stride": "training stride (steps)",
    "score_stride": "scoring stride (steps)", "scaler": "feature scaling", "drift": "centred on each window's mean "
    "(drift)", "calibration_split": "calibration tail (calibration_split)", "epochs": "epochs",
    "batch_size": "batch size", "lr": "learning rate (lr)", "latent_dim": "code size (latent_dim)",
    "hidden_size": "hidden units (hidden_size)", "num_layers": "layers (num_layers)", "decoder": "decoder",
    "threshold": "threshold rule", "random_state": "seed (random_state)", "device": "device",
    "transforms": "image transforms", "error": "image error", "density": "density of the codes",
}
HIDDEN_PARAMETERS = ("verbose",)  # how a run talks, not what it computed


def parameters_applied(det) -> dict:
    """The detector's parameters, readable label -> the value applied (defaults resolved, no ``verbose``)."""
    resolved = {}
    for key, value in det.get_params().items():
        if key in HIDDEN_PARAMETERS:
            continue
        if key == "threshold":
            value = threshold_rule(det.new_threshold()) + (" (the default)" if value is None else "")
        elif key == "device":
            value = f"{value} ({getattr(det, 'device_', value)})" if value == "auto" else value
        elif key in ("scaler", "drift", "transforms") and not value:
            value = "none"
        elif isinstance(value, (list, tuple)):
            value = ", ".join(map(str, value))
        elif hasattr(value, "to_dict"):
            value = str(value.to_dict())
        elif value is None:
            value = "the model's default"
        elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            value = _num(value)
        resolved[PARAMETER_LABELS.get(key, key.replace("_", " "))] = value
    return resolved


def model_card(det, fingerprint: str | None = None) -> dict:
    """The model card of a fitted detector as label -> value: model, seed, version, the threshold and smoothing
    applied, what the threshold was fitted on, epochs, features, window or image shape, and the fingerprint of
    the data the report shows."""
    from reconad import __version__

    card = {
        "detector": type(det).__name__,
        "model": det.model,
        "reconad version": __version__,
        "seed": getattr(det, "seed_", None),
        "device": str(getattr(det, "device_", det.device)),
        "threshold": threshold_applied(det.threshold_),
        "calibration scores": getattr(det, "threshold_source_", None) or "not recorded",
    }
    scorer = getattr(det, "scorer_", None)
    if scorer is not None:
        steps = int(scorer.smooth)
        card["smoothing of the scores"] = f"moving average over {steps} steps" if steps > 1 else "none (1 step)"
    best = getattr(det, "best_epoch_", None)
    kept = f" (epoch {best} kept, best on the validation data)" if best is not None and best != len(det.history_) \
        else ""
    card["epochs trained"] = f"{len(det.history_)}{kept}"
    if getattr(det, "feature_names_in_", None):
        card["features"] = ", ".join(str(name) for name in det.feature_names_in_)
    elif getattr(det, "n_features_in_", None) is not None:
        card["features"] = f"{det.n_features_in_} (unnamed)"
    if getattr(det, "window_", None) is not None:
        card["window, training stride (steps)"] = f"{det.window_}, {det.stride_}"
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
    return ModelFacts(detector=type(det).__name__, model=str(det.model), threshold=float(det.threshold_),
                      threshold_source=str(getattr(det, "threshold_source_", "")), history=list(det.history_),
                      card=model_card(det, fingerprint), parameters=parameters_applied(det),
                      calibration=getattr(det, "calibration_scores_", None))


def series_detail(det, x, scores) -> SeriesDetail:
    """The reconstruction of the rows the timeline draws (all, or ``DETAIL_ROWS`` around the highest score)."""
    start, end = detail_range(scores, det.window_)
    part = x.iloc[start:end] if hasattr(x, "iloc") else np.asarray(x)[start:end]
    return SeriesDetail(start, np.asarray(det.reconstruct(part)))


def series_report_of(det, x, scores, predicted, labels=None, *, time=None, data_info: Mapping[str, object],
                     fingerprint: str | None = None, contributions=None, training: tuple[int, int] | None = None,
                     title: str = "reconad report") -> tuple[str, dict | None]:
    """:func:`reconad.report.series_report` of ``x`` ``(T, D)`` scored by a fitted ``SeriesDetector``.

    ``contributions`` (``det.explain(x)``, ``(T, D)``) is computed when not given and ``x`` has several features;
    ``training``: the half-open ``(start, end)`` rows of ``x`` the detector was fitted on, shaded on every timeline
    (None: none of them).
    """
    if contributions is None and np.shape(x)[1] > 1:
        contributions = det.explain(x)  # (T, D): which sensor, for several
    return _series_report(x, scores, predicted, labels, facts=model_facts(det, fingerprint),
                          detail=series_detail(det, x, scores), contributions=contributions, time=time,
                          data_info=data_info, training=training, title=title)


def image_samples(det, images, scores, labels=None, shown: int = 8) -> ImageSamples:
    """A few images (the first of each class with labels, else the highest scores) with their reconstructions
    and anomaly maps, and the highest-scored images with their maps (drawn overlaid)."""
    pick, captions = pick_samples(scores, labels, shown)
    chosen = np.asarray(images)[pick]
    worst = worst_indices(scores, shown)
    worst_images = np.asarray(images)[worst]
    worst_captions = [f"#{i} {float(np.asarray(scores)[i]):.3g}" for i in worst]
    return ImageSamples(chosen, np.asarray(det.reconstruct(chosen)), np.asarray(det.error_map(chosen)), captions,
                        worst=(worst_images, np.asarray(det.error_map(worst_images)), worst_captions))


def image_report_of(det, images, scores, predicted, labels=None, *, data_info: Mapping[str, object],
                    fingerprint: str | None = None, title: str = "reconad report") -> tuple[str, dict | None]:
    """:func:`reconad.report.image_report` of ``images`` ``(N, C, H, W)`` scored by a fitted ``ImageDetector``."""
    return image_report(scores, predicted, labels, facts=model_facts(det, fingerprint),
                        samples=image_samples(det, images, scores, labels), data_info=data_info, title=title)

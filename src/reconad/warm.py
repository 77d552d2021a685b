"""Keep a fitted series detector current: continue training on new normal data, and record each version.

Normal behaviour moves (a new set-point, maintenance, a replaced sensor) and a model trained once starts to raise
false alarms. :func:`partial_fit_state` (``det.partial_fit(X_new)``) continues training the fitted model for a few
epochs on a recent stretch of normal data instead of starting over: the model keeps what it learned, and costs a
fraction of a full fit. The calibration and the alarm level are fitted again on the held-out tail of the new data
(``calibration_split``, as at fit time), and the feature names stay.

The scaler: by default its statistics are fitted again on the new data (``scaler="refit"``). A level shift moves
the features' means, and standardising with the old means would hand the model inputs offset from everything it
learned, to be unlearned by gradient steps; with the new means the shifted data looks like the old to the model, so
a few epochs suffice. ``scaler="keep"`` keeps the old statistics (when the new stretch is too short to estimate
them, or a level must stay comparable). ``benchmarks/results/warm_start.md`` measures both.

Every fit and partial fit appends a record to ``det.versions_`` (saved in the model file): when, which kind, how
many rows and epochs, and a fingerprint of the data (sha256 of its float32 values), so a model file says which
data made it.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import datetime, timezone

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

from reconad.data.windows import gather_windows, window_starts
from reconad.errors import InputError
from reconad.scoring import SeriesScorer
from reconad.training import MIN_TRAIN_WINDOWS, TrainConfig, seeded, train_autoencoder
from reconad.validation import check_int

SCALERS = ("refit", "keep")
KINDS = ("fit", "partial_fit")
MAX_VERSIONS = 10_000  # records a file may hold (a model retrained every hour for a year is 8,760)


def version_record(kind: str, data: np.ndarray, epochs: int, source: str | None = None) -> dict:
    """One entry of ``versions_``: ``{when, kind, rows, epochs, fingerprint[, source]}`` (``when`` in UTC)."""
    record = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "kind": kind, "rows": int(len(data)),
              "epochs": int(epochs),
              "fingerprint": hashlib.sha256(np.ascontiguousarray(data, dtype=np.float32).tobytes()).hexdigest()[:16]}
    if source is not None:
        record["source"] = str(source)
    return record


def check_versions(versions) -> list[dict]:
    """A model file's version history, checked (files written before it existed have none: ``[]``)."""
    if versions is None:
        return []
    if not (isinstance(versions, list) and len(versions) <= MAX_VERSIONS):
        raise ValueError(f"its version history is not a list of at most {MAX_VERSIONS:,} records")
    for record in versions:
        ok = (isinstance(record, dict) and record.get("kind") in KINDS and isinstance(record.get("when"), str)
              and all(type(record.get(k)) is int and record[k] >= 0 for k in ("rows", "epochs"))
              and isinstance(record.get("fingerprint"), str) and isinstance(record.get("source", ""), str))
        if not ok:
            raise ValueError(f"its version record {str(record)[:200]} is not {{when, kind, rows, epochs, "
                             "fingerprint}")
    return [dict(record) for record in versions]


def partial_fit_state(det, X, epochs: int, scaler: str = "refit", source: str | None = None) -> dict:
    """The fitted attributes of ``det`` after ``epochs`` more epochs of training on the new normal data ``X``.

    Nothing of ``det`` changes here (the model is trained as a copy); the caller commits the result at once, so a
    failure leaves the detector as it was.
    """
    check_int("epochs", epochs)
    if scaler not in SCALERS:
        raise InputError(f"scaler must be one of {', '.join(SCALERS)} (fit the scaling statistics on the new data, "
                         f"or keep the old), got {scaler!r}")
    data = det.scorer_.check_rows(X, "X_new")  # the fitted columns, in the fitted order
    window, old = det.window_, det.scorer_
    n_cal = int(round(len(data) * det.calibration_split))
    if min(len(data) - n_cal, n_cal or window) < window:
        need = int(np.ceil(window / min(det.calibration_split, 1 - det.calibration_split))) if n_cal else window
        raise InputError(f"X_new has {len(data)} steps; with calibration_split={det.calibration_split} the "
                         f"training part and the held-out tail must each hold a window of {window} steps: pass at "
                         f"least {need} steps of normal data")
    train, calibration = (data, None) if n_cal == 0 else (data[:-n_cal], data[-n_cal:])
    mean, scale = old.mean, old.scale_values
    new_scaler = det.scaler_
    if det.scaler_ is not None and scaler == "refit":
        new_scaler = StandardScaler().fit(train)
        mean, scale = new_scaler.mean_, new_scaler.scale_
    model = copy.deepcopy(det.model_)

    def scorer(module) -> SeriesScorer:
        return SeriesScorer(module, window=window, stride=old.stride, n_features=old.n_features,
                            feature_names=old.feature_names, mean=mean, scale=scale, fold=old.fold,
                            smooth=old.smooth)

    train_scaled = scorer(None).scale(train)
    stride = int(min(det.stride_, window, max(1, (len(train) - window) // (MIN_TRAIN_WINDOWS - 1))))
    starts = window_starts(len(train_scaled), window, stride)

    def take(index: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(gather_windows(train_scaled, starts[index], window))

    config = TrainConfig(epochs, det.batch_size, det.lr, "last", None, det.verbose)
    with seeded(det.seed_, det.device_):
        result = train_autoencoder(model, take, len(starts), config, det.device_)
    fitted = scorer(model)
    if calibration is None:
        source_text = "new training data (calibration_split=0: optimistic, the model saw it)"
        calibration_scores = fitted.score_scaled(train_scaled)
    else:
        source_text = f"held-out tail of the partial_fit data ({len(calibration)} steps)"
        calibration_scores = fitted.score_scaled(fitted.scale(calibration))
    history = list(det.history_) + [{**row, "phase": "partial_fit"} for row in result.history]
    versions = list(getattr(det, "versions_", [])) + [version_record("partial_fit", data, epochs, source)]
    return {"model_": model.eval(), "scorer_": fitted, "scaler_": new_scaler, "history_": history,
            "best_epoch_": None, "threshold_": det.new_threshold().fit(calibration_scores),
            "threshold_source_": source_text, "calibration_scores_": calibration_scores, "versions_": versions}

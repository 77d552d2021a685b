"""The estimators users hold: fit on normal data, score, predict, save, load.

They follow scikit-learn's conventions: ``__init__`` only stores its arguments, ``fit`` validates them and
returns ``self``, learned state ends in ``_``, ``get_params`` / ``set_params`` / ``sklearn.base.clone``
work, and a method that needs a fitted detector says so when called on an unfitted one.
"""

from __future__ import annotations

import logging
import os
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.preprocessing import StandardScaler

from reconad.data.windows import FOLDS, WindowFolder, gather_windows, window_starts
from reconad.errors import InputError, ModelFileError, NotFittedError
from reconad.metrics import auprc, oracle_best_f1_grid, roc_auc
from reconad.models import build_model, get_entry
from reconad.persistence import read_model_file, require, write_model_file
from reconad.thresholds import Threshold, make_threshold, threshold_from_dict
from reconad.training import TrainConfig, resolve_device, resolve_seed, seeded, train_autoencoder
from reconad.validation import as_labels, as_series, check_int

log = logging.getLogger("reconad")

SCALERS = ("standard", None)


class _Detector(BaseEstimator):
    """What every detector shares: fitted-state checks, thresholds, presets, save / load."""

    _kind: ClassVar[str] = ""

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(X) with normal data before using it"
            )

    @classmethod
    def from_preset(cls, name: str, **overrides) -> _Detector:
        """A detector with a named configuration (see ``reconad.presets``); keyword arguments override it."""
        from reconad.presets import get_preset

        kind, params = get_preset(name)
        if kind != cls.__name__:
            raise InputError(f"preset {name!r} configures a {kind}, not a {cls.__name__}")
        return cls(**{**params, **overrides})

    def _check_model_kind(self) -> None:
        entry = get_entry(self.model)
        if entry.kind != self._kind:
            raise InputError(
                f"model {self.model!r} is an {entry.kind} model; {type(self).__name__} needs a {self._kind} model"
            )

    def predict(self, X) -> np.ndarray:
        """0/1 labels from ``anomaly_score(X) > threshold_`` (the threshold was fitted without labels)."""
        return self.threshold_.predict(self.anomaly_score(X))

    # ---- persistence -------------------------------------------------------------------------------------------

    def _params_document(self) -> dict:
        params = self.get_params()
        if isinstance(params.get("threshold"), Threshold):
            params["threshold"] = {"object": params["threshold"].to_dict()}
        return params

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted detector to one file (safetensors weights + JSON); ``reconad.load`` reads it."""
        self._check_fitted()
        from reconad import __version__

        document = {
            "detector": type(self).__name__,
            "reconad_version": __version__,
            "torch_version": torch.__version__,
            "numpy_version": np.__version__,
            "params": self._params_document(),
            "state": self._state_document(),
        }
        tensors = {f"model.{k}": v for k, v in self.model_.state_dict().items()}
        write_model_file(path, tensors, document)

    @classmethod
    def _from_document(cls, document: dict, tensors: dict, path) -> _Detector:
        params = dict(require(document, "params", dict, path))
        if isinstance(params.get("threshold"), dict):
            params["threshold"] = threshold_from_dict(params["threshold"]["object"])
        try:
            detector = cls(**params)
        except TypeError as exc:
            raise ModelFileError(f"{path} has parameters this reconad does not know: {exc}") from exc
        state = require(document, "state", dict, path)
        try:
            detector._restore_state(state)
            weights = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
            detector.model_.load_state_dict(weights, strict=True)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelFileError(f"{path} is not a valid reconad model: {exc}") from exc
        detector.device_ = resolve_device(detector.device)
        detector.model_.to(detector.device_).eval()
        return detector


class SeriesDetector(_Detector):
    """Reconstruction-based anomaly detector for time series ``(T,)`` or ``(T, D)``.

    Training cuts the normal series into windows of ``window`` steps every ``stride`` steps and teaches an
    auto-encoder (``model``, from the registry) to reconstruct them. Scoring cuts windows every
    ``score_stride`` steps, takes the squared reconstruction error of every step (the max over features),
    and averages each step's error over all windows that cover it (``fold="mean"``, or ``"max"``): one
    score per step, higher = more anomalous.

    The label-free threshold is fitted on the scores of the last ``calibration_split`` fraction of the
    training series, which the model does not train on. With ``calibration_split=0`` the model trains on all
    data and the threshold comes from (optimistic) training scores; ``threshold_source_`` says which.
    """

    _kind: ClassVar[str] = "series"

    def __init__(
        self,
        model: str = "lstm",
        *,
        window: int = 100,
        stride: int = 10,
        score_stride: int | None = None,
        scaler: str | None = "standard",
        calibration_split: float = 0.2,
        epochs: int = 20,
        batch_size: int = 32,
        lr: float = 1e-3,
        latent_dim: int | None = None,
        hidden_size: int = 64,
        num_layers: int = 1,
        decoder: str | None = None,
        threshold: str | Threshold = "quantile",
        fold: str = "mean",
        checkpoint: str = "last",
        random_state: int | None = None,
        device: str = "auto",
        verbose: bool = True,
    ):
        self.model = model
        self.window = window
        self.stride = stride
        self.score_stride = score_stride
        self.scaler = scaler
        self.calibration_split = calibration_split
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.latent_dim = latent_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.decoder = decoder
        self.threshold = threshold
        self.fold = fold
        self.checkpoint = checkpoint
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # ---- fitting ------------------------------------------------------------------------------------------------

    def _validate_params(self) -> None:
        self._check_model_kind()
        check_int("window", self.window, 2)
        check_int("stride", self.stride)
        check_int("score_stride", self.score_stride, allow_none=True)
        if self.score_stride is not None and self.score_stride > self.window:
            raise InputError(
                f"score_stride={self.score_stride} is wider than window={self.window}, so some steps would get no "
                "score; use a score_stride of at most the window"
            )
        if self.scaler not in SCALERS:
            raise InputError(f"scaler must be 'standard' or None, got {self.scaler!r}")
        if not (isinstance(self.calibration_split, (int, float)) and 0 <= self.calibration_split < 1):
            raise InputError(f"calibration_split must be a fraction in [0, 1), got {self.calibration_split!r}")
        if self.fold not in FOLDS:
            raise InputError(f"fold must be one of {FOLDS}, got {self.fold!r}")
        make_threshold(self.threshold)

    def _split(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The training part and the held-out calibration tail (None when ``calibration_split == 0``)."""
        n_cal = int(round(len(X) * self.calibration_split))
        if n_cal == 0:
            if len(X) < self.window:
                raise InputError(
                    f"the training series has {len(X)} steps, fewer than one window ({self.window}); "
                    "pass more data or a smaller window"
                )
            return X, None
        if len(X) - n_cal < self.window or n_cal < self.window:
            minimum = int(np.ceil(self.window / min(self.calibration_split, 1 - self.calibration_split)))
            raise InputError(
                f"the training series has {len(X)} steps; with window={self.window} and "
                f"calibration_split={self.calibration_split} it needs at least {minimum} steps so that both the "
                "training part and the held-out calibration tail hold one window; pass more data, a smaller "
                "window, or calibration_split=0"
            )
        return X[:-n_cal], X[-n_cal:]

    def fit(self, X, y=None, *, validation=None) -> SeriesDetector:
        """Learn normal behaviour from ``X`` (normal operation, ``(T,)``, ``(T, D)`` or a DataFrame).

        ``validation=(X_val, labels)`` adds per-epoch validation metrics to ``history_`` (AUPRC, ROC-AUC and
        the notebook-style *oracle* best F1) and lets ``checkpoint="best"`` keep the epoch with the best
        validation AUPRC. ``y`` is ignored (scikit-learn convention).
        """
        self._validate_params()
        data, names = as_series(X)
        train, calibration = self._split(data)
        val = None
        if validation is not None:
            if not (isinstance(validation, (tuple, list)) and len(validation) == 2):
                raise InputError("validation must be a pair (X_val, labels)")
            val_x, _ = as_series(validation[0], "validation series")
            val = (val_x, as_labels(validation[1], len(val_x), "validation labels"))
            if val_x.shape[1] != data.shape[1]:
                raise InputError(f"validation series has {val_x.shape[1]} features, training has {data.shape[1]}")
        config = TrainConfig(self.epochs, self.batch_size, self.lr, self.checkpoint, "val_auprc", self.verbose)

        self.n_features_in_ = data.shape[1]
        self.feature_names_in_ = names
        self.seed_ = resolve_seed(self.random_state)
        self.device_ = resolve_device(self.device)
        self.scaler_ = StandardScaler().fit(train) if self.scaler == "standard" else None
        train_scaled = self._scale(train)
        starts = window_starts(len(train_scaled), self.window, self.stride)

        def take(index: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(gather_windows(train_scaled, starts[index], self.window))  # (B, W, D)

        def evaluate(model) -> dict:
            scores = self._score_scaled(model, self._scale(val[0]))
            return {
                "val_auprc": auprc(val[1], scores),
                "val_roc_auc": roc_auc(val[1], scores),
                "val_oracle_f1": oracle_best_f1_grid(val[1], scores).f1,
            }

        with seeded(self.seed_, self.device_):
            self.model_ = build_model(self.model, **self._model_kwargs()).to(self.device_)
            result = train_autoencoder(
                self.model_, take, len(starts), config, self.seed_, self.device_, evaluate if val else None
            )
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch

        if calibration is None:
            self.threshold_source_ = "training data (calibration_split=0: optimistic, the model saw it)"
            log.info("threshold fitted on training scores because calibration_split=0")
            calibration_scores = self._score_scaled(self.model_, train_scaled)
        else:
            self.threshold_source_ = f"held-out tail of the training data ({len(calibration)} steps)"
            calibration_scores = self._score_scaled(self.model_, self._scale(calibration))
        self.threshold_ = make_threshold(self.threshold).fit(calibration_scores)
        return self

    def _model_kwargs(self) -> dict:
        return {
            "n_features": self.n_features_in_,
            "window": self.window,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "latent_dim": self.latent_dim,
            "decoder": self.decoder,
        }

    # ---- scoring ------------------------------------------------------------------------------------------------

    def _scale(self, x: np.ndarray) -> np.ndarray:
        if self.scaler_ is None:
            return x
        return self.scaler_.transform(x).astype(np.float32)

    def _prepare(self, X, what: str = "X") -> np.ndarray:
        self._check_fitted()
        data, names = as_series(X, what)
        if data.shape[1] != self.n_features_in_:
            raise InputError(
                f"{what} has {data.shape[1]} features but the detector was fitted on {self.n_features_in_}; "
                "pass the same columns as at fit time"
            )
        if self.feature_names_in_ is not None and names is not None and names != self.feature_names_in_:
            raise InputError(
                f"{what} has columns {names} but the detector was fitted on {self.feature_names_in_}; "
                "pass the same columns in the same order"
            )
        if len(data) < self.window:
            raise InputError(
                f"{what} has {len(data)} steps, fewer than one window ({self.window}); pass a longer series"
            )
        return self._scale(data)

    @property
    def _score_stride(self) -> int:
        return self.score_stride or min(self.stride, self.window)

    def _windows_pass(self, model, x: np.ndarray, reconstruct: bool = False):
        """Per-step scores ``(T,)`` (and the folded reconstruction ``(T, D)``) of a scaled series, in batches."""
        length, n_features = x.shape
        starts = window_starts(length, self.window, self._score_stride)
        scores = WindowFolder(length, self.window, self.fold)
        recon = WindowFolder(length, self.window, "mean", trailing=(n_features,)) if reconstruct else None
        batch = max(1, min(1024, 2**22 // (self.window * n_features)))  # bounded memory per batch
        device = next(model.parameters()).device
        model.eval()
        with torch.no_grad():
            for begin in range(0, len(starts), batch):
                part = starts[begin : begin + batch]
                windows = torch.from_numpy(gather_windows(x, part, self.window)).to(device)  # (B, W, D)
                x_hat = model(windows)  # (B, W, D)
                error = ((x_hat - windows) ** 2).amax(dim=-1)  # (B, W): max over features, as the notebook
                scores.add(error.cpu().numpy(), part)
                if recon is not None:
                    recon.add(x_hat.cpu().numpy(), part)
        return scores.result(), (recon.result() if recon is not None else None)

    def _score_scaled(self, model, x: np.ndarray) -> np.ndarray:
        return self._windows_pass(model, x)[0]

    def anomaly_score(self, X) -> np.ndarray:
        """One score per step ``(T,)``: higher = more anomalous."""
        x = self._prepare(X)
        return self._score_scaled(self.model_, x)

    def reconstruct(self, X) -> np.ndarray:
        """The model's reconstruction of ``X`` ``(T, D)`` in the input's units (mean over covering windows)."""
        x = self._prepare(X)
        recon = self._windows_pass(self.model_, x, reconstruct=True)[1]
        if self.scaler_ is not None:
            recon = self.scaler_.inverse_transform(recon)
        return recon.astype(np.float32)

    # ---- persistence --------------------------------------------------------------------------------------------

    def _state_document(self) -> dict:
        scaler = None
        if self.scaler_ is not None:
            scaler = {"mean": self.scaler_.mean_.tolist(), "scale": self.scaler_.scale_.tolist()}
        return {
            "model_kwargs": self._model_kwargs(),
            "n_features_in": self.n_features_in_,
            "feature_names_in": self.feature_names_in_,
            "scaler": scaler,
            "threshold": self.threshold_.to_dict(),
            "threshold_source": self.threshold_source_,
            "seed": self.seed_,
            "history": self.history_,
            "best_epoch": self.best_epoch_,
        }

    def _restore_state(self, state: dict) -> None:
        self.n_features_in_ = int(state["n_features_in"])
        self.feature_names_in_ = state["feature_names_in"]
        self.scaler_ = None
        if state["scaler"] is not None:
            self.scaler_ = StandardScaler()
            self.scaler_.mean_ = np.asarray(state["scaler"]["mean"], dtype=np.float64)
            self.scaler_.scale_ = np.asarray(state["scaler"]["scale"], dtype=np.float64)
            self.scaler_.var_ = self.scaler_.scale_**2
            self.scaler_.n_features_in_ = self.n_features_in_
            self.scaler_.n_samples_seen_ = 0
        self.threshold_ = threshold_from_dict(state["threshold"])
        self.threshold_source_ = str(state["threshold_source"])
        self.seed_ = int(state["seed"])
        self.history_ = list(state["history"])
        self.best_epoch_ = state["best_epoch"]
        self.model_ = build_model(self.model, **state["model_kwargs"])


DETECTORS: dict[str, type[_Detector]] = {"SeriesDetector": SeriesDetector}


def load(path: str | os.PathLike) -> _Detector:
    """Load a detector saved with ``save``. Never unpickles: a file that is not a reconad model is refused."""
    document, tensors = read_model_file(path)
    kind = require(document, "detector", str, path)
    if kind not in DETECTORS:
        raise ModelFileError(f"{path} holds an unknown detector type {kind!r}")
    return DETECTORS[kind]._from_document(document, tensors, path)

"""What every detector shares: the fit contract, thresholds, presets, and save / load orchestration.

Detectors follow scikit-learn's conventions: ``__init__`` only stores its arguments, ``fit`` validates them and
returns ``self``, learned state ends in ``_``, ``get_params`` / ``set_params`` / ``sklearn.base.clone`` work, and a
method that needs a fitted detector says so when called on an unfitted one.

Fitting is transactional: a subclass's ``_fit_state`` computes every learned attribute into a dict, and only when it
has returned are they assigned, all at once. A fit that fails (bad input, bad parameters, a model that cannot be
built) leaves a previously fitted detector exactly as it was.
"""

from __future__ import annotations

import os
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator

from reconad.errors import InputError, ModelFileError, NotFittedError
from reconad.models import get_entry
from reconad.persistence import check_weights, migrate, write_model_file
from reconad.thresholds import Fixed, Threshold, make_threshold, threshold_from_dict
from reconad.training import TrainConfig, fit_closed_form, resolve_device, seeded, train_autoencoder
from reconad.warm import check_versions


class BaseDetector(BaseEstimator):
    """The shared contract of :class:`~reconad.SeriesDetector` and :class:`~reconad.ImageDetector`."""

    kind: ClassVar[str] = ""  # the registry kind of model this detector trains ("series" or "image")
    default_threshold: ClassVar[Threshold | str] = "quantile"

    # ---- fitted state ----------------------------------------------------------------------------------------------

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(X) with normal data before using it")

    def _commit(self, state: dict) -> None:
        """Assign a complete fitted state at once (the last step of a fit or a load)."""
        for name, value in state.items():
            setattr(self, name, value)

    @classmethod
    def from_preset(cls, name: str, **overrides) -> BaseDetector:
        """A detector with a named configuration (see :mod:`reconad.presets`); keyword arguments override it."""
        from reconad.presets import get_preset

        kind, params = get_preset(name)
        if kind != cls.__name__:
            raise InputError(f"preset {name!r} is for {kind}, not {cls.__name__}; use {kind}.from_preset")
        return cls(**{**params, **overrides})

    def _check_model_kind(self) -> None:
        entry = get_entry(self.model)
        if entry.kind != self.kind:
            raise InputError(
                f"model {self.model!r} is an {entry.kind} model; {type(self).__name__} needs a {self.kind} model")

    def _train_model(self, build, take, n_samples: int, config: TrainConfig, evaluate, seed: int,
                     device: torch.device) -> tuple[torch.nn.Module, list[dict], int | None]:
        """Build a model with ``build()`` and train it, both seeded by ``seed``: ``(model, history, best_epoch)``.

        The initial weights are drawn under the seed too, so one ``random_state`` reproduces the whole fit. A family
        the registry marks ``closed_form`` (``pca``) is fitted in one pass by its ``fit_windows`` instead of epochs.
        """
        with seeded(seed, device):
            model = build().to(device)
            if get_entry(self.model).closed_form:
                result = fit_closed_form(model, take, n_samples, device, evaluate)
            else:
                result = train_autoencoder(model, take, n_samples, config, device, evaluate)
        return model, result.history, result.best_epoch

    # ---- thresholds --------------------------------------------------------------------------------------------------

    def new_threshold(self) -> Threshold:
        """A fresh, unfitted threshold as the ``threshold`` parameter asks (the detector's default when it is None).

        Why: to fit the same label-free rule on other scores (a baseline's, another split's) and compare like with
        like.
        """
        return make_threshold(self.default_threshold if self.threshold is None else self.threshold)

    def _fitted_threshold(self, calibration_scores: np.ndarray) -> Threshold:
        return self.new_threshold().fit(calibration_scores)

    def set_threshold(self, threshold) -> BaseDetector:
        """Change the alarm level without retraining.

        ``threshold`` is a number (a level set by hand), a name from ``reconad.thresholds.THRESHOLDS`` or a
        threshold object such as ``AlarmBudget(alarms=1, per=10_000)``, fitted again on the calibration scores the
        detector kept. The scores do not change (they never read the threshold); only ``threshold_`` and the
        ``threshold`` parameter do. Returns ``self``. A rule that fails to fit leaves the detector as it was.
        """
        self._check_fitted()
        rule = make_threshold(threshold)
        if isinstance(rule, Fixed):
            fitted = rule.fit([rule.value])
        elif self.calibration_scores_ is None:
            raise InputError("this detector was loaded from a file written before calibration scores were saved; "
                             "refit it to change its threshold rule, or pass a number")
        else:
            fitted = rule.fit(self.calibration_scores_)
        self.threshold = threshold
        self.threshold_ = fitted
        return self

    def record_training_data(self, *, file: str, fingerprint: str, rows: tuple[int, int]) -> BaseDetector:
        """Remember which rows of which file the detector was fitted on (kept in ``training_data_`` and the file).

        Why: ``reconad evaluate`` on the same file then leaves those rows out of the metrics (a model scores the
        data it learned too well) and the report shades them. ``rows`` is the half-open ``(start, end)`` range;
        ``fingerprint`` the file's ``sha256:`` digest. A new ``fit`` forgets it.
        """
        self._check_fitted()
        self.training_data_ = check_training_data({"file": file, "fingerprint": fingerprint, "rows": list(rows)})
        return self

    def predict(self, X) -> np.ndarray:
        """0/1 labels: ``anomaly_score(X) > threshold_`` (the threshold was fitted without labels)."""
        scores = self.anomaly_score(X)  # checks first that the detector is fitted
        return self.threshold_.predict(scores)

    # ---- persistence -------------------------------------------------------------------------------------------------

    def params_document(self) -> dict:
        """The constructor parameters as a JSON-ready dict (a threshold object becomes its description)."""
        params = self.get_params()
        if isinstance(params.get("threshold"), Threshold):
            params["threshold"] = {"object": params["threshold"].to_dict()}
        return params

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted detector to one file (safetensors weights + JSON); :func:`reconad.load` reads it.

        Loading the file never runs code (no pickle), so a model file from someone else is safe to open.
        """
        self._check_fitted()
        from reconad import __version__

        document = {
            "detector": type(self).__name__,
            "reconad_version": __version__,
            "torch_version": torch.__version__,
            "numpy_version": np.__version__,
            "params": self.params_document(),
            "state": self._state_document(),
            "training_data": self.training_data_,
            "versions": getattr(self, "versions_", []),  # fit / partial_fit records (reconad.warm)
        }
        tensors = {f"model.{k}": v for k, v in self.model_.state_dict().items()}
        if self.calibration_scores_ is not None:
            tensors["calibration.scores"] = torch.from_numpy(np.asarray(self.calibration_scores_, dtype=np.float64))
        tensors.update(self._extra_tensors())
        write_model_file(path, tensors, document)

    def _extra_tensors(self) -> dict[str, torch.Tensor]:
        """Tensors besides the model's weights that the file must hold (e.g. the training codes of a density)."""
        return {}

    def _state_document(self) -> dict:
        raise NotImplementedError

    def _restore_state(self, state: dict, tensors: dict[str, torch.Tensor] | None = None) -> dict:
        """The fitted attributes a file's state and tensors describe (raises ValueError / KeyError if bad).

        Without ``tensors`` only the shapes are built (the first pass, on the meta device).
        """
        raise NotImplementedError

    @classmethod
    def from_document(cls, document: dict, tensors: dict, path) -> BaseDetector:
        """Rebuild a detector from a model file's JSON document and tensors, checking every value they carry."""
        invalid = f"{path} is not a valid reconad model"
        written_by = document.get("reconad_version", "an unknown version")
        params, state = migrate(cls.__name__, document, path)
        try:
            if isinstance(params.get("threshold"), dict):
                params["threshold"] = threshold_from_dict(params["threshold"]["object"])
            new = cls(**params)
            new._validate_params()  # a file's parameters are input too: checked before anything is built
        except TypeError as exc:
            raise ModelFileError(f"{path} (written by reconad {written_by}) has parameters this reconad does not "
                                 f"know: {exc}; refit the detector with this version") from exc
        except (KeyError, InputError) as exc:
            raise ModelFileError(f"{invalid}: bad parameter ({exc})") from exc
        weights = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
        try:
            with torch.device("meta"):  # shapes first, on no memory: a file cannot make us allocate a huge model
                shapes = new._restore_state(state)["model_"].state_dict()
            check_weights(shapes, weights)
            fitted = new._restore_state(state, tensors)
            fitted["model_"].load_state_dict(weights, strict=True)
            value = fitted["threshold_"].value_
            if not (isinstance(value, float) and np.isfinite(value)):
                raise ValueError(f"its threshold value {value!r} is not a finite number")
            fitted["calibration_scores_"] = _calibration_scores(tensors.get("calibration.scores"))
            data = document.get("training_data")  # files written before it was kept hold none
            fitted["training_data_"] = None if data is None else check_training_data(data)
            fitted["versions_"] = check_versions(document.get("versions"))  # files before it: none
            fitted["device_"] = resolve_device(new.device)
        except KeyError as exc:
            raise ModelFileError(f"{invalid}: field {exc} is missing from its state") from exc
        except (TypeError, ValueError, RuntimeError, AttributeError) as exc:  # InputError is a ValueError
            raise ModelFileError(f"{invalid}: {exc}") from exc
        fitted["model_"].to(fitted["device_"]).eval()
        new._commit(fitted)
        return new


def check_training_data(data) -> dict:
    """``{"file", "fingerprint", "rows": [start, end]}`` checked (a file's value is input too), or InputError."""
    if not (isinstance(data, dict) and set(data) == {"file", "fingerprint", "rows"}):
        raise InputError(f"the training data record {data!r} is not {{file, fingerprint, rows}}")
    rows = data["rows"]
    if not (isinstance(data["file"], str) and isinstance(data["fingerprint"], str)
            and data["fingerprint"].startswith("sha256:") and isinstance(rows, (list, tuple)) and len(rows) == 2
            and all(type(r) is int for r in rows) and 0 <= rows[0] < rows[1]):
        raise InputError(f"the training data record {data!r} needs a file name, a sha256: fingerprint and rows "
                         "[start, end) with 0 <= start < end")
    return {"file": data["file"], "fingerprint": data["fingerprint"], "rows": [rows[0], rows[1]]}


def _calibration_scores(tensor: torch.Tensor | None) -> np.ndarray | None:
    """The calibration scores a file holds (files written before they were saved hold none), checked."""
    if tensor is None:
        return None
    if tensor.ndim != 1 or len(tensor) < 1 or tensor.dtype != torch.float64 or not torch.isfinite(tensor).all():
        raise ValueError(f"its calibration scores are not a non-empty vector of finite float64 values "
                         f"({tensor.dtype} {tuple(tensor.shape)})")
    return tensor.numpy().copy()

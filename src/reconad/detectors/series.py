"""The series detector: learn normal operation from a (multivariate) series, then score, flag and explain steps."""

from __future__ import annotations

import logging
from typing import ClassVar

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

from reconad.data.windows import fit_window, gather_windows, window_starts
from reconad.detectors.base import BaseDetector
from reconad.drift import check_drift_spec, drift_mask
from reconad.errors import InputError
from reconad.explain import region_shares
from reconad.metrics import auprc, oracle_best_f1_grid, roc_auc
from reconad.models import build_model, get_entry
from reconad.models.centred import LevelFree
from reconad.periods import auto_window
from reconad.persistence import MAX_FEATURES, MAX_LAYERS, MAX_SIZE, check_count, check_model_kwargs, check_statistic
from reconad.scoring import SeriesScorer
from reconad.thresholds import MeanStd, threshold_from_dict
from reconad.training import MIN_TRAIN_WINDOWS, TrainConfig, resolve_device, resolve_seed
from reconad.validation import as_labels, as_series, check_int
from reconad.warm import version_record

log = logging.getLogger("reconad")

SCALERS = ("standard", None)
MIN_WINDOW = 16  # the smallest window a short training series may shrink the window to


class SeriesDetector(BaseDetector):
    """Reconstruction-based anomaly detector for time series ``(T,)`` or ``(T, D)`` (arrays or DataFrames).

    Why: train on a stretch of normal operation, then get one score per step (higher = more anomalous), 0/1 flags
    at a threshold fitted without labels, and the features that drove each flagged region.

    Training cuts the normal series into windows of ``window`` steps every ``stride`` steps and teaches an
    auto-encoder (``model``, from the registry: ``reconad.list_models(kind="series")``) to reconstruct them. The
    score (:class:`~reconad.scoring.SeriesScorer`, ``scorer_``) is each step's squared reconstruction error, max over
    features, averaged over every window that covers it (windows every ``score_stride`` steps), then averaged over a
    few centred steps (the model family's default: 5 for the window models ``dense`` and ``conv1d``, 1 for the
    recurrent ones). The score never reads the threshold: ``predict`` compares exactly the scores it was fitted on.

    Parameters (the user problem each one solves):

    - ``model``, ``latent_dim``, ``hidden_size``, ``num_layers``, ``decoder``: which auto-encoder and how big;
      ``decoder`` (recurrent models: ``"repeat"`` or ``"autoregressive"``) reproduces the course notebook.
    - ``window``: how long a pattern the model sees; an anomaly shorter than a window still raises its steps.
      ``"auto"``: three cycles of the training data (its dominant period from the autocorrelation; 16 to 400
      steps, 100 when it has none: :func:`reconad.periods.auto_window`); ``window_`` says what was chosen.
    - ``stride`` (training) and ``score_stride`` (scoring; 1 = every window, larger = faster, coarser): speed.
    - ``scaler``: ``"standard"`` puts sensors with different units on one scale; ``None`` keeps raw values.
    - ``drift``: ``"auto"`` centres features whose level drifts in the training data on each window's mean
      (a temperature that creeps up all day is not an alarm); a list names them; ``None`` centres none.
    - ``calibration_split``: the tail of the training data held out to fit the threshold on scores of normal data
      the model did not train on (training scores are optimistic); ``threshold_source_`` says which data it used.
    - ``threshold``: the label-free rule (a name from ``reconad.thresholds.THRESHOLDS`` or a threshold object);
      ``None`` is mean + 4 standard deviations of the calibration scores.
    - ``epochs``, ``batch_size``, ``lr``, ``random_state``, ``device`` (``"auto"`` = CUDA when present), ``verbose``
      (progress bars): training as usual; one ``random_state`` gives the same scores on the same CPU.

    A training series too short for ``window`` (the training part and the calibration tail must each hold one
    window) shrinks the effective window ``window_`` to fit, with a warning, down to 16 steps; a short training part
    is also cut with a finer stride ``stride_`` so that it still gives about 200 windows to learn from.
    """

    kind: ClassVar[str] = "series"
    default_threshold: ClassVar = MeanStd(k=4.0)

    def __init__(
        self,
        model: str = "dense",
        *,
        window: int | str = 100,
        stride: int = 10,
        score_stride: int | None = 1,
        scaler: str | None = "standard",
        drift: str | list | tuple | None = "auto",
        calibration_split: float = 0.2,
        epochs: int = 100,
        batch_size: int = 32,
        lr: float = 1e-3,
        latent_dim: int | None = None,
        hidden_size: int = 64,
        num_layers: int = 1,
        decoder: str | None = None,
        threshold=None,
        random_state: int | None = None,
        device: str = "auto",
        verbose: bool = True,
    ):
        self.model = model
        self.window = window
        self.stride = stride
        self.score_stride = score_stride
        self.scaler = scaler
        self.drift = drift
        self.calibration_split = calibration_split
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.latent_dim = latent_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.decoder = decoder
        self.threshold = threshold
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # ---- parameters and shapes ---------------------------------------------------------------------------------------

    def _validate_params(self) -> None:
        self._check_model_kind()
        if self.window != "auto":  # "auto": the training data's period, chosen in fit
            check_int("window", self.window, 2, maximum=MAX_SIZE)
        check_int("stride", self.stride)
        for name in ("hidden_size", "latent_dim"):
            check_int(name, getattr(self, name), allow_none=True, maximum=MAX_SIZE)
        check_int("num_layers", self.num_layers, maximum=MAX_LAYERS)
        check_int("score_stride", self.score_stride, allow_none=True)
        if self.score_stride is not None and self.window != "auto" and self.score_stride > self.window:
            raise InputError(f"score_stride={self.score_stride} is wider than window={self.window}, so some steps "
                             "would get no score; use a score_stride of at most the window")
        if self.scaler not in SCALERS:
            raise InputError(f"scaler must be 'standard' or None, got {self.scaler!r}")
        if not (isinstance(self.calibration_split, (int, float)) and 0 <= self.calibration_split < 1):
            raise InputError(f"calibration_split must be a fraction in [0, 1), got {self.calibration_split!r}")
        check_drift_spec(self.drift)
        self.new_threshold()

    def _n_calibration(self, n_steps: int) -> int:
        return int(round(n_steps * self.calibration_split))

    def _smooth(self) -> int:
        return int(get_entry(self.model).defaults.get("smooth", 1))

    def _model_kwargs(self, n_features: int, window: int) -> dict:
        return {"n_features": n_features, "window": window, "hidden_size": self.hidden_size,
                "num_layers": self.num_layers, "latent_dim": self.latent_dim, "decoder": self.decoder}

    def _build(self, kwargs: dict, drifting: np.ndarray) -> torch.nn.Module:
        """The registry's model, wrapped in :class:`~reconad.models.centred.LevelFree` when features drift."""
        model = build_model(self.model, **kwargs)
        if drifting.any():
            return LevelFree(model, torch.from_numpy(drifting.astype(np.float32)))
        return model

    def _labelled(self, pair, what: str, n_features: int) -> tuple[np.ndarray, np.ndarray]:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise InputError(f"{what} must be a pair (X, labels) with labels 0 = normal, 1 = anomaly")
        x, _ = as_series(pair[0], f"{what} series")
        if x.shape[1] != n_features:
            raise InputError(f"{what} series has {x.shape[1]} features, training has {n_features}")
        return x, as_labels(pair[1], len(x), f"{what} labels")

    # ---- fitting -----------------------------------------------------------------------------------------------------

    def fit(self, X, y=None, *, validation=None, track: dict | None = None) -> SeriesDetector:
        """Learn normal behaviour from ``X`` (normal operation: ``(T,)``, ``(T, D)`` or a DataFrame).

        ``validation=(X_val, labels)`` records per-epoch validation metrics in ``history_`` (AUPRC, ROC-AUC and the
        notebook's *oracle* best F1) and keeps the weights of the epoch with the best validation AUPRC.
        ``track={"test": (X, labels)}`` records the same metrics for other labelled series without choosing the
        epoch. ``y`` is ignored (scikit-learn convention). A fit that fails leaves a fitted detector as it was.
        """
        self._validate_params()
        data, names = as_series(X)
        n_features = data.shape[1]
        if n_features > MAX_FEATURES:
            raise InputError(f"X has {n_features:,} features; a series detector takes at most {MAX_FEATURES:,} (a "
                             "saved model with more could not be loaded back); select the sensors to watch")
        sets = {}
        if validation is not None:
            sets["val"] = self._labelled(validation, "validation", n_features)
        for name, pair in (track or {}).items():
            if name == "val":
                raise InputError("track cannot use the name 'val'; it is reserved for validation=")
            sets[str(name)] = self._labelled(pair, f"track[{name!r}]", n_features)
        window = fit_window(len(data), auto_window(data) if self.window == "auto" else self.window,
                            self.calibration_split, MIN_WINDOW)
        n_cal = self._n_calibration(len(data))
        train, calibration = (data, None) if n_cal == 0 else (data[:-n_cal], data[-n_cal:])
        scaler = StandardScaler().fit(train) if self.scaler == "standard" else None
        drifting = drift_mask(self.drift, train, names)
        if drifting.any():
            log.info("features %s drift in the training data: the model sees them centred on each window's mean",
                     [names[j] if names else int(j) for j in np.flatnonzero(drifting)])
        kwargs = self._model_kwargs(n_features, window)
        seed, device = resolve_seed(self.random_state), resolve_device(self.device)

        def scorer(model) -> SeriesScorer:
            return SeriesScorer(model, window=window, stride=min(self.score_stride or self.stride, window),
                                n_features=n_features, feature_names=names,
                                mean=None if scaler is None else scaler.mean_,
                                scale=None if scaler is None else scaler.scale_, smooth=self._smooth())

        train_scaled = scorer(None).scale(train)
        stride = int(min(self.stride, window, max(1, (len(train) - window) // (MIN_TRAIN_WINDOWS - 1))))
        starts = window_starts(len(train_scaled), window, stride)

        def take(index: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(gather_windows(train_scaled, starts[index], window))  # (B, W, D)

        def evaluate(model) -> dict:
            record, pass_ = {}, scorer(model)
            for name, (x, labels) in sets.items():
                scores = pass_.score_scaled(pass_.scale(x))
                record[f"{name}_auprc"] = auprc(labels, scores)
                record[f"{name}_roc_auc"] = roc_auc(labels, scores)
                record[f"{name}_oracle_f1"] = oracle_best_f1_grid(labels, scores).f1
            return record

        config = TrainConfig(self.epochs, self.batch_size, self.lr, "best" if validation is not None else "last",
                             "val_auprc", self.verbose)
        model, history, best_epoch = self._train_model(lambda: self._build(kwargs, drifting), take, len(starts),
                                                       config, evaluate if sets else None, seed, device)
        fitted = scorer(model)
        if calibration is None:
            log.info("threshold fitted on training scores because calibration_split=0")
            source = "training data (calibration_split=0: optimistic, the model saw it)"
            calibration_scores = fitted.score_scaled(train_scaled)
        else:
            source = f"held-out tail of the training data ({len(calibration)} steps)"
            calibration_scores = fitted.score_scaled(fitted.scale(calibration))
        self._commit({"model_": model, "scorer_": fitted, "scaler_": scaler, "window_": window, "stride_": stride,
                      "n_features_in_": n_features, "feature_names_in_": names, "drifting_": drifting,
                      "seed_": seed, "device_": device, "history_": history, "best_epoch_": best_epoch,
                      "threshold_": self._fitted_threshold(calibration_scores), "threshold_source_": source,
                      "calibration_scores_": calibration_scores, "training_data_": None})
        self.versions_ = [version_record("fit", data, self.epochs)]  # partial_fit appends (reconad.warm)
        return self

    def calibrate(self, X, *, out_of_fold: bool = False) -> SeriesDetector:
        """Add the scores of more normal data to the threshold's calibration and refit the threshold (not the model).

        Why: the alarm level is only as good as the normal data it was calibrated on, by default the last fifth of the
        training series. ``X`` is normal data the model did not train on (its scores are added) or, with
        ``out_of_fold=True``, the training series itself: two clones, each fitted on one half, score the other half
        (:func:`reconad.calibration.out_of_fold_scores`; two extra fits), so that the level reflects the whole log.
        The kept calibration scores grow (``set_threshold`` uses them too); a call that fails changes nothing.
        """
        from reconad.calibration import calibrated_state

        self._check_fitted()
        self._commit(calibrated_state(self, X, out_of_fold))
        return self

    def partial_fit(self, X, y=None, *, epochs: int = 5, scaler: str = "refit") -> SeriesDetector:
        """Continue training on new normal data ``X`` for ``epochs`` epochs, then refit calibration and threshold.

        Why: normal behaviour moves (a new set-point, maintenance) and a full refit starts over; this keeps what
        the model learned at a fraction of the cost. ``scaler="refit"`` fits the scaling on the new data (a level
        shift then looks like the old normal to the model), ``"keep"`` keeps it. Feature names stay; ``versions_``
        gains a record. A failure leaves the detector as it was. See :mod:`reconad.warm`.
        """
        from reconad.warm import partial_fit_state

        self._check_fitted()
        self._commit(partial_fit_state(self, X, epochs, scaler))
        return self

    @property
    def drifting_features_(self) -> list:
        """The features (names, or column indices) the model sees centred on each window's mean."""
        self._check_fitted()
        return self._feature_labels(self.drifting_)

    def _feature_labels(self, mask: np.ndarray) -> list:
        names = self.feature_names_in_
        return [names[j] if names else int(j) for j in np.flatnonzero(mask)]

    # ---- scoring -----------------------------------------------------------------------------------------------------

    def anomaly_score(self, X) -> np.ndarray:
        """One score per step ``(T,)``, higher = more anomalous: the folded, smoothed reconstruction error."""
        self._check_fitted()
        return self.scorer_.score(X)

    def reconstruct(self, X) -> np.ndarray:
        """The model's reconstruction of ``X`` ``(T, D)`` in the input's units (mean over covering windows)."""
        self._check_fitted()
        return self.scorer_.reconstruct(X)

    def explain(self, X) -> np.ndarray:
        """Each feature's contribution to each step's score ``(T, D)``: which sensor made a step anomalous.

        The squared error of every feature, folded and smoothed exactly as the score is; with one feature it *is*
        the score, and with several its row-wise max is at most the score.
        """
        self._check_fitted()
        return self.scorer_.feature_errors(X)

    def explain_regions(self, X, regions=None, top: int = 3) -> list[dict]:
        """The features that drove each anomalous region, largest share first (:func:`reconad.explain.region_shares`).

        ``regions`` are half-open ``(start, end)`` row ranges; by default the regions ``predict(X)`` flags.
        """
        from reconad.metrics import regions as flagged_regions

        check_int("top", top)
        contributions = self.explain(X)  # (T, D); checks X and that the detector is fitted
        if regions is None:
            regions = flagged_regions(self.predict(X))
        names = self._feature_labels(np.ones(self.n_features_in_, bool))
        return region_shares(contributions, regions, names, top)

    def stream(self, *, exact: bool = False, explain: bool = False):
        """A :class:`~reconad.streaming.StreamScorer` for a series that arrives in pieces.

        ``scorer.update(rows)`` returns the scores of the steps that became final, ``scorer.finish()`` the rest;
        concatenated they equal ``anomaly_score`` on the whole series (to float32 rounding; ``exact=True``: bit for
        bit, with more lag). ``explain=True`` adds each step's feature contributions (``scorer.contributions``).
        """
        from reconad.streaming import StreamScorer

        self._check_fitted()
        return StreamScorer(self.scorer_, exact=exact, explain=explain)

    # ---- persistence -------------------------------------------------------------------------------------------------

    def _state_document(self) -> dict:
        scaler = None
        if self.scaler_ is not None:
            scaler = {"mean": self.scaler_.mean_.tolist(), "scale": self.scaler_.scale_.tolist()}
        return {
            "model_kwargs": self._model_kwargs(self.n_features_in_, self.window_),
            "window": self.window_,
            "n_features_in": self.n_features_in_,
            "feature_names_in": self.feature_names_in_,
            "scaler": scaler,
            "threshold": self.threshold_.to_dict(),
            "threshold_source": self.threshold_source_,
            "drifting": [int(j) for j in np.flatnonzero(self.drifting_)],
            "stride": self.stride_,
            "smooth": self.scorer_.smooth,
            "fold": self.scorer_.fold,
            "seed": self.seed_,
            "history": self.history_,
            "best_epoch": self.best_epoch_,
        }

    def _restore_state(self, state: dict, tensors: dict | None = None) -> dict:
        window = state.get("window", self.window)  # files written before window_ existed used window
        bound = MAX_SIZE if self.window == "auto" else min(self.window, MAX_SIZE)
        if not (type(window) is int and 2 <= window <= bound):
            raise ValueError(f"its window {window!r} is not an integer in [2, {bound}]")
        n_features = check_count(state["n_features_in"], "number of features", 1, MAX_FEATURES)
        names = state["feature_names_in"]
        if names is not None and not (
                isinstance(names, list) and len(names) == n_features and all(isinstance(n, str) for n in names)):
            raise ValueError(f"its feature names {names!r} are not {n_features} strings")
        scaler = None
        if state["scaler"] is not None:
            scaler = StandardScaler()  # finite in float32 (how rows are scaled), scales > 0: no empty scores
            scaler.mean_ = check_statistic(state["scaler"]["mean"], n_features, "scaler mean")
            scaler.scale_ = check_statistic(state["scaler"]["scale"], n_features, "scaler scale", positive=True)
            scaler.var_, scaler.n_features_in_, scaler.n_samples_seen_ = scaler.scale_**2, n_features, 0
        kwargs = check_model_kwargs(state["model_kwargs"])
        if (kwargs.get("n_features"), kwargs.get("window")) != (n_features, window):
            raise ValueError("its model arguments do not match its number of features and window")
        stride = state.get("stride", min(self.stride, window))  # the training stride (files before: stride)
        check_count(stride, "training stride", 1, window)
        smooth = state.get("smooth", self._smooth())  # files before: the family's default or their parameter
        check_count(smooth, "smoothing (steps averaged per score)", 1, window)  # the loop runs once per step
        drifting_list = state.get("drifting", [])  # files written before drift existed centred nothing
        if not (isinstance(drifting_list, list) and all(type(j) is int and 0 <= j < n_features
                                                        for j in drifting_list)):
            raise ValueError(f"its drifting features {drifting_list!r} are not column indices below {n_features}")
        drifting = np.zeros(n_features, dtype=bool)
        drifting[drifting_list] = True
        model = self._build(kwargs, drifting)
        scorer = SeriesScorer(model, window=window, stride=min(self.score_stride or self.stride, window),
                              n_features=n_features, feature_names=names,
                              mean=None if scaler is None else scaler.mean_,
                              scale=None if scaler is None else scaler.scale_, fold=state.get("fold", "mean"),
                              smooth=smooth)
        return {"model_": model, "scorer_": scorer, "scaler_": scaler, "window_": window, "stride_": stride,
                "n_features_in_": n_features, "feature_names_in_": names, "drifting_": drifting,
                "threshold_": threshold_from_dict(state["threshold"]),
                "threshold_source_": str(state["threshold_source"]), "seed_": int(state["seed"]),
                "history_": list(state["history"]), "best_epoch_": state["best_epoch"]}

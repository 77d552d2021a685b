"""The estimators users hold: fit on normal data, score, predict, save, load.

They follow scikit-learn's conventions: ``__init__`` only stores its arguments, ``fit`` validates them and
returns ``self``, learned state ends in ``_``, ``get_params`` / ``set_params`` / ``sklearn.base.clone``
work, and a method that needs a fitted detector says so when called on an unfitted one.
"""

from __future__ import annotations

import logging
import math
import operator
import os
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.preprocessing import StandardScaler

from reconad.data.images import as_images
from reconad.data.windows import FOLDS, WindowFolder, gather_windows, window_starts
from reconad.errors import InputError, ModelFileError, NotFittedError
from reconad.imaging import DENSITIES, ERRORS, TRANSFORMS, error_map, knn_distance, random_turns, turn, turns
from reconad.metrics import auprc, oracle_best_f1_grid, roc_auc
from reconad.models import build_model, get_entry
from reconad.models.centred import LevelFree
from reconad.persistence import read_model_file, require, write_model_file
from reconad.thresholds import MeanStd, Threshold, make_threshold, threshold_from_dict
from reconad.training import (
    PRECISIONS,
    TrainConfig,
    autocast,
    resolve_device,
    resolve_seed,
    seeded,
    train_autoencoder,
)
from reconad.validation import as_labels, as_series, check_int

log = logging.getLogger("reconad")

SCALERS = ("standard", None)
SMOOTH_BLOCK = 1 << 20  # steps smoothed at a time
SPREAD_REACH = 3  # a spread of k reads k * SPREAD_REACH steps on each side (where its weight is e^-3, 5%)
MIN_WINDOW = 16  # the smallest window a short training series may shrink the window to (a smaller `window` lowers it)
WINDOWS_PER_INPUT = 2  # a window of W steps x D features is W * D numbers: train on at least twice that many windows
MIN_TRAIN_WINDOWS = 200  # a short training part is cut with a finer stride until it gives this many windows
DRIFT_BLOCKS = 4  # drift="auto" cuts the training part into this many blocks and compares their mean levels
DRIFT_RATIO = 0.5  # a feature drifts when its block means spread over half its standard deviation or more
DRIFT_MIN_BLOCK = 25  # rows per block below which noise alone moves the block means too much to tell drift
CONTEXT_DEFAULT = 50  # context's decay in steps, chosen on benchmarks/context.py's validation suites
CONTEXT_WEIGHT = 100.0  # below the threshold, the nearness of a high score outweighs a step's own score this much


def centred_moving_average(raw: np.ndarray, raw_start: int, start: int, stop: int, length: int, size: int):
    """Centred moving average of ``size`` steps over a series of ``length`` steps, for steps ``[start, stop)``.

    ``raw`` holds the series' steps ``[raw_start, raw_start + len(raw))``. The edges repeat their end values
    (``scipy.ndimage.uniform_filter1d(mode="nearest")``, to rounding), and every output is summed term by term in
    the same order, so scoring a slice with its neighbours gives the same bits as scoring the whole series.
    """
    if size <= 1:
        return raw[start - raw_start : stop - raw_start].astype(np.float64)
    out = np.empty(stop - start, dtype=np.float64)
    for begin in range(start, stop, SMOOTH_BLOCK):  # in blocks: a long series needs no series-long index arrays
        steps = np.arange(begin, min(begin + SMOOTH_BLOCK, stop))
        total = np.zeros(len(steps), dtype=np.float64)
        for shift in range(-(size // 2), size - size // 2):
            total += raw[np.clip(steps + shift, 0, length - 1) - raw_start]
        out[begin - start : begin - start + len(steps)] = total / size
    return out


def decayed_max(smooth: np.ndarray, smooth_start: int, start: int, stop: int, length: int, spread: int):
    """``y_t = max over |d| <= 3 * spread of s_(t+d) * exp(-|d| / spread)`` for steps ``[start, stop)``.

    A peak-preserving widening of the scores: every step keeps at least its own score, and a high score lifts its
    neighbours by a weight that halves every ``0.69 * spread`` steps (down to 5% at the reach of 3 spreads).
    ``smooth`` holds the non-negative scores of steps ``[smooth_start, smooth_start + len(smooth))``, which must
    cover ``[start - reach, stop + reach]`` within ``[0, length)``; a max is exact, so any slice gives the bits the
    whole series gives. ``spread=0`` returns the scores unchanged.
    """
    begin, end = start - smooth_start, stop - smooth_start
    out = smooth[begin:end].astype(np.float64)
    decay = np.exp(-1.0 / spread) if spread > 0 else 0.0
    for d in range(1, SPREAD_REACH * spread + 1):
        weight = decay**d
        right = min(end + d, length - smooth_start) - d  # steps t whose neighbour t + d exists
        if right > begin:
            np.maximum(out[: right - begin], smooth[begin + d : right + d] * weight, out=out[: right - begin])
        left = max(begin, d - smooth_start)  # steps t whose neighbour t - d exists
        if left < end:
            np.maximum(out[left - begin :], smooth[left - d : end - d] * weight, out=out[left - begin :])
    return out


def with_context(scores: np.ndarray, scores_start: int, start: int, stop: int, length: int, context: int,
                 threshold: float) -> np.ndarray:
    """Scores of steps ``[start, stop)`` ranked by their neighbourhood below ``threshold``, unchanged above it.

    A step whose score ``s`` is at most the threshold ``T`` gets ``(s + w min(c, T)) / (1 + w)``, where ``c`` is the
    highest score near it, decayed with distance (:func:`decayed_max` with ``context``) and ``w`` is
    ``CONTEXT_WEIGHT``: a quiet step next to an alarm ranks above a quiet step far from any, and its own score breaks
    ties. The result is never above ``T`` (and never below ``s``), so exactly the steps the threshold flagged are
    still flagged. ``scores`` holds steps ``[scores_start, ...)`` covering the decayed max's reach, as
    :func:`decayed_max` needs.
    """
    own = scores[start - scores_start : stop - scores_start].astype(np.float64)
    near = decayed_max(scores, scores_start, start, stop, length, context)
    lifted = (own + CONTEXT_WEIGHT * np.minimum(near, threshold)) / (1.0 + CONTEXT_WEIGHT)
    return np.where(own > threshold, own, np.minimum(lifted, threshold))  # the min: rounding never crosses T


def _row_range(region, rows: int) -> tuple[int, int]:
    """A half-open ``(start, end)`` row range inside ``rows`` rows, as two ints, or an InputError naming the fix."""
    try:
        start, end = (operator.index(v) for v in region)
    except (TypeError, ValueError):
        start = end = None
    if start is None or not 0 <= start < end <= rows:
        raise InputError(f"region {region!r} is not a half-open row range inside the {rows} rows; pass "
                         "(start, end) with 0 <= start < end <= rows")
    return start, end


def region_shares(contributions: np.ndarray, regions, names: list, top: int = 3) -> list[dict]:
    """:meth:`SeriesDetector.explain_regions` from contributions already computed (``explain(X)``, ``(T, D)``)."""
    check_int("top", top)
    out = []
    for region in regions:
        start, end = _row_range(region, len(contributions))
        mean = contributions[start:end].mean(axis=0)  # (D,)
        total = float(mean.sum())
        share = mean / total if total > 0 else np.full(len(mean), 1.0 / len(mean))
        order = np.argsort(-share, kind="stable")[:top]
        out.append({"start": start, "end": end,
                    "features": [{"feature": names[j], "share": float(share[j])} for j in order]})
    return out


def drifting_features(x: np.ndarray) -> np.ndarray:
    """Which features of a training series ``(T, D)`` drift: a boolean mask ``(D,)``.

    The series is cut into ``DRIFT_BLOCKS`` equal blocks. A feature drifts when the standard deviation of its
    block means is at least ``DRIFT_RATIO`` times its overall standard deviation: a quarter or more of its
    variance is slow change of level *between* blocks. Noise and anything that oscillates faster than a block
    average out within the blocks (white noise gives about ``1 / sqrt(block rows)``, a sine of a few periods
    per block about 0); a trend or a slow wander does not (a straight ramp gives 0.97). With fewer than
    ``DRIFT_MIN_BLOCK`` rows per block nothing is called drifting: noise alone would move the block means.
    """
    x = np.asarray(x, dtype=np.float64)
    rows = len(x) // DRIFT_BLOCKS
    if rows < DRIFT_MIN_BLOCK:
        return np.zeros(x.shape[1], dtype=bool)
    blocks = x[: rows * DRIFT_BLOCKS].reshape(DRIFT_BLOCKS, rows, x.shape[1]).mean(axis=1)  # (blocks, D)
    spread = x.std(axis=0)  # (D,)
    return (spread > 0) & (blocks.std(axis=0) >= DRIFT_RATIO * spread)


def _mean_std(values: np.ndarray) -> list[float]:
    """Mean and standard deviation (never 0: a constant term would divide by zero) of calibration values."""
    return [float(values.mean()), float(max(values.std(), 1e-12))]


def _to_device(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Move a CPU batch to ``device``; to a GPU through pinned memory, without waiting for the copy."""
    if device.type == "cuda":
        return batch.pin_memory().to(device, non_blocking=True)
    return batch.to(device)


def _check_weights(expected: dict[str, torch.Tensor], weights: dict[str, torch.Tensor]) -> None:
    """The file's tensors are exactly the model's: same names, shapes and dtypes, and finite numbers."""
    if set(expected) != set(weights):
        missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
        raise ValueError(f"its weights do not fit the model (missing {missing[:5]}, unexpected {extra[:5]})")
    for name, tensor in weights.items():
        want = expected[name]
        if tensor.shape != want.shape or tensor.dtype != want.dtype:
            raise ValueError(
                f"weight {name!r} is {tensor.dtype} {tuple(tensor.shape)}, the model needs {want.dtype} "
                f"{tuple(want.shape)}"
            )
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ValueError(f"weight {name!r} holds NaN or infinite values")


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
            raise InputError(f"preset {name!r} is for {kind}, not {cls.__name__}; use {kind}.from_preset")
        return cls(**{**params, **overrides})

    def _check_model_kind(self) -> None:
        entry = get_entry(self.model)
        if entry.kind != self._kind:
            raise InputError(
                f"model {self.model!r} is an {entry.kind} model; {type(self).__name__} needs a {self._kind} model"
            )

    def _train(self, take, n_samples: int, config: TrainConfig, evaluate) -> None:
        """Build the model and train it, seeded by ``seed_``: ``model_``, ``history_`` and ``best_epoch_``."""
        with seeded(self.seed_, self.device_):
            self.model_ = self._build_model().to(self.device_)
            result = train_autoencoder(self.model_, take, n_samples, config, self.device_, evaluate)
        self.history_, self.best_epoch_ = result.history, result.best_epoch

    def _build_model(self):
        """A fresh model for ``model`` and the fitted shapes (``_model_kwargs``)."""
        return build_model(self.model, **self._model_kwargs())

    def _threshold_spec(self) -> Threshold:
        """A fresh, unfitted threshold as the ``threshold`` parameter asks."""
        return make_threshold(self.threshold)

    def _fit_threshold(self, calibration_scores: np.ndarray, source: str, on_training: bool = False) -> _Detector:
        """Fit ``threshold_`` on scores of normal data; ``source`` says which data, for ``threshold_source_``."""
        if on_training:
            log.info("threshold fitted on training scores because calibration_split=0")
        self.threshold_source_ = source
        self.threshold_ = self._threshold_spec().fit(calibration_scores)
        return self

    def predict(self, X) -> np.ndarray:
        """0/1 labels from ``anomaly_score(X) > threshold_`` (the threshold was fitted without labels)."""
        scores = self.anomaly_score(X)  # checks first that the detector is fitted
        return self.threshold_.predict(scores)

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
        tensors.update(self._extra_tensors())
        write_model_file(path, tensors, document)

    def _extra_tensors(self) -> dict[str, torch.Tensor]:
        """Tensors besides the model's weights that the file must hold (e.g. the training codes of a density)."""
        return {}

    def _restore_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Check and take the tensors of :meth:`_extra_tensors` from a file (raises ValueError if they are bad)."""

    @classmethod
    def _legacy_params(cls, params: dict) -> dict:
        """Parameters of files written before a parameter existed: the behaviour they were written with."""
        return params

    @classmethod
    def _from_document(cls, document: dict, tensors: dict, path) -> _Detector:
        invalid = f"{path} is not a valid reconad model"
        params = cls._legacy_params(dict(require(document, "params", dict, path)))
        try:
            if isinstance(params.get("threshold"), dict):
                params["threshold"] = threshold_from_dict(params["threshold"]["object"])
            detector = cls(**params)
            detector._validate_params()  # a file's parameters are input too: checked before anything is built
        except TypeError as exc:
            raise ModelFileError(f"{path} has parameters this reconad does not know: {exc}") from exc
        except (KeyError, InputError) as exc:
            raise ModelFileError(f"{invalid}: bad parameter ({exc})") from exc
        state = require(document, "state", dict, path)
        weights = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
        try:
            with torch.device("meta"):  # shapes first, on no memory: a file cannot make us allocate a huge model
                detector._restore_state(state)
            _check_weights(detector.model_.state_dict(), weights)
            detector._restore_state(state)
            detector.model_.load_state_dict(weights, strict=True)
            detector._restore_tensors(tensors)
            if not (isinstance(detector.threshold_.value_, float) and np.isfinite(detector.threshold_.value_)):
                raise ValueError(f"its threshold value {detector.threshold_.value_!r} is not a finite number")
            detector.device_ = resolve_device(detector.device)
        except KeyError as exc:
            raise ModelFileError(f"{invalid}: field {exc} is missing from its state") from exc
        except (TypeError, ValueError, RuntimeError, AttributeError) as exc:  # InputError is a ValueError
            raise ModelFileError(f"{invalid}: {exc}") from exc
        detector.model_.to(detector.device_).eval()
        return detector


class SeriesDetector(_Detector):
    """Reconstruction-based anomaly detector for time series ``(T,)`` or ``(T, D)``.

    Training cuts the normal series into windows of ``window`` steps every ``stride`` steps and teaches an
    auto-encoder (``model``, from the registry) to reconstruct them. Scoring cuts windows every
    ``score_stride`` steps, takes the squared reconstruction error of every step (the max over features),
    and averages each step's error over all windows that cover it (``fold="mean"``, or ``"max"``): one
    score per step, higher = more anomalous. With ``smooth=k`` each step's score is then averaged over ``k``
    centred steps (an anomaly is a run of steps, noise is not); ``smooth=None`` takes the model family's
    default: 5 for the window models ``dense`` and ``conv1d``, 1 (per-step, as the course notebook) for the
    recurrent ones. With ``spread=k`` (default 0, off) each step's score is finally raised to the highest of its
    neighbours' scores times ``exp(-d / k)`` at ``d`` steps, out to ``3 k`` steps (:func:`decayed_max`): peaks keep
    their value and place, and their neighbours rise, for labels that mark a window around each event.

    ``context=k`` (default 50) ranks the steps the threshold leaves unflagged by their neighbourhood: below the
    threshold a step's score is pulled up to the highest score near it, decayed by ``exp(-d / k)`` at ``d`` steps
    (out to ``3 k``) and capped at the threshold, with its own score breaking ties (:func:`with_context`). Scores
    above the threshold are untouched and nothing below it crosses it, so ``predict`` flags exactly the same
    steps as with ``context=0``; what changes is the order of the quiet steps, for threshold-free measures such as
    AUC-PR where labels mark a window around each event (NAB). The threshold is fitted on the scores without it.

    ``drift="auto"`` (the default) finds the features whose level drifts in the training data (a temperature
    that creeps up all day: :func:`drifting_features`) and shows the model those features centred on each window's
    own mean (:class:`~reconad.models.centred.LevelFree`), so a level that has wandered on since training is not an
    alarm while the feature's movements within a window still are; steady features keep their level. A list of
    feature names or column indices centres exactly those; ``None`` centres none. ``drifting_features_`` says which
    were centred. It trades missed faults for false alarms: a fault that only moves a drifting feature's level is
    seen while the level changes, not after (the README has the measurements).

    ``min_scale=f`` (default 0) floors each feature's standardisation scale at ``f`` times its mean absolute
    training level: a sensor that barely moved in a short training stretch no longer reads a small drift as many
    standard deviations (features centred near 0 are untouched; the floor depends on where the units put 0).

    The defaults (a dense window auto-encoder, windows of 100, every window scored, 5-step smoothing, a mean + 4
    standard deviations threshold) were chosen on a validation suite of synthetic series of our own
    (``benchmarks/sine_validation.py``), never on a benchmark's test labels; 100 epochs (not 20) on SKAB-like
    segments of SKAB's anomaly-free recording (``benchmarks/skab_validation.py``), where a 400-step training part
    gives one mini-batch per epoch. The README gives the evidence.

    A training series too short for ``window`` (the training part and the calibration tail must each hold one
    window) shrinks the effective window ``window_`` to fit, with a warning, down to 16 steps; shorter is refused.
    The window also shrinks (not below 16) until the training part holds two windows per number a window holds
    (``window_ * n_features``), and the training stride ``stride_`` becomes finer than ``stride`` until it cuts at
    least 200 windows: a short multivariate stretch (SKAB: 400 rows of 8 sensors) is not learnt by heart. Both
    rules, and ``drift="auto"``, were chosen by AUPRC on SKAB-like segments of SKAB's anomaly-free recording
    (``benchmarks/skab_validation.py``, ``benchmarks/drift.py``); long univariate series are untouched.

    ``device="auto"`` trains and scores on CUDA when there is a GPU (batches go through pinned memory), else on
    the CPU. ``precision="bf16"`` runs the model's forward passes under ``torch.autocast`` in bfloat16 (the loss
    and the scores stay float32): faster on GPUs with bfloat16 units, scores within about 1% of fp32's.

    The label-free threshold is fitted on the scores of the last ``calibration_split`` fraction of the
    training series, which the model does not train on. With ``calibration_split=0`` the model trains on all
    data and the threshold comes from (optimistic) training scores; ``threshold_source_`` says which.
    """

    _kind: ClassVar[str] = "series"

    def __init__(
        self,
        model: str = "dense",
        *,
        window: int = 100,
        stride: int = 10,
        score_stride: int | None = 1,
        scaler: str | None = "standard",
        min_scale: float = 0.0,
        drift: str | list | tuple | None = "auto",
        calibration_split: float = 0.2,
        epochs: int = 100,
        batch_size: int = 32,
        lr: float = 1e-3,
        latent_dim: int | None = None,
        hidden_size: int = 64,
        num_layers: int = 1,
        decoder: str | None = None,
        threshold: str | Threshold | None = None,
        fold: str = "mean",
        smooth: int | None = None,
        spread: int = 0,
        context: int = CONTEXT_DEFAULT,
        checkpoint: str = "last",
        random_state: int | None = None,
        device: str = "auto",
        precision: str = "fp32",
        verbose: bool = True,
    ):
        self.model = model
        self.window = window
        self.stride = stride
        self.score_stride = score_stride
        self.scaler = scaler
        self.min_scale = min_scale
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
        self.fold = fold
        self.smooth = smooth
        self.spread = spread
        self.context = context
        self.checkpoint = checkpoint
        self.random_state = random_state
        self.device = device
        self.precision = precision
        self.verbose = verbose

    # ---- fitting ------------------------------------------------------------------------------------------------

    def _validate_params(self) -> None:
        self._check_model_kind()
        if self.precision not in PRECISIONS:
            raise InputError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
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
        finite = isinstance(self.min_scale, (int, float)) and 0 <= self.min_scale < math.inf
        if isinstance(self.min_scale, bool) or not finite:
            raise InputError(f"min_scale must be a number >= 0 (a fraction of each feature's level), got "
                             f"{self.min_scale!r}")
        if self.min_scale and self.scaler is None:
            raise InputError("min_scale floors the standard scaler's scale; use it with scaler='standard'")
        if not (isinstance(self.calibration_split, (int, float)) and 0 <= self.calibration_split < 1):
            raise InputError(f"calibration_split must be a fraction in [0, 1), got {self.calibration_split!r}")
        listed = isinstance(self.drift, (list, tuple)) and all(
            isinstance(f, str) or (isinstance(f, (int, np.integer)) and not isinstance(f, bool)) for f in self.drift
        )
        if not (listed or self.drift is None or (isinstance(self.drift, str) and self.drift == "auto")):
            raise InputError(f"drift must be 'auto', None or a list of feature names or column indices, got "
                             f"{self.drift!r}")
        check_int("smooth", self.smooth, allow_none=True)
        check_int("spread", self.spread, 0)
        check_int("context", self.context, 0)
        if self.fold not in FOLDS:
            raise InputError(f"fold must be one of {FOLDS}, got {self.fold!r}")
        self._threshold_spec()

    def _fit_window(self, n_steps: int, n_features: int = 1) -> int:
        """The window the data allows: ``window``, or less when the training data is too short for it.

        A short training series (NAB's probationary period, SKAB's 400 normal rows) shrinks the effective window
        ``window_``, with a warning, down to ``MIN_WINDOW`` steps (below that it is refused with the minimum number
        of steps named), first to the shorter of the training part and the calibration tail, then so that the
        training part holds ``WINDOWS_PER_INPUT`` windows (at a stride of 1) per number a window holds
        (``window_ * n_features``): a model that reads more numbers than it has examples learns the examples.
        """
        fitted = self._room_window(n_steps)
        n_train = n_steps - self._n_calibration(n_steps)
        cap = max((n_train + 1) // (WINDOWS_PER_INPUT * n_features + 1), min(fitted, MIN_WINDOW))
        if cap < fitted:
            log.warning(
                "the training part has %d steps of %d features, too few windows for a window of %d steps (%d numbers "
                "each); using a window of %d steps instead (window_)",
                n_train,
                n_features,
                fitted,
                fitted * n_features,
                cap,
            )
            return int(cap)
        return fitted

    def _fit_stride(self, n_train: int) -> int:
        """The training stride: ``stride``, or finer when that would give fewer than ``MIN_TRAIN_WINDOWS`` windows."""
        enough = max(1, (n_train - self.window_) // (MIN_TRAIN_WINDOWS - 1))
        return int(min(self.stride, self.window_, enough))

    def _room_window(self, n_steps: int) -> int:
        """``window``, or the shorter of the training part and the calibration tail when that is shorter."""
        n_cal = self._n_calibration(n_steps)
        room = n_steps if n_cal == 0 else min(n_steps - n_cal, n_cal)
        if room >= self.window:
            return self.window
        tiny = min(self.window, MIN_WINDOW)
        if room < tiny:
            if self.calibration_split == 0:
                minimum = tiny
            else:
                minimum = int(np.ceil(tiny / min(self.calibration_split, 1 - self.calibration_split)))
            raise InputError(
                f"the training series has {n_steps} steps; with calibration_split={self.calibration_split} it needs "
                f"at least {minimum} steps so that the training part and the held-out calibration tail each hold a "
                f"window of {tiny} steps (the smallest window reconad adapts to); pass more data, a smaller window, "
                "or calibration_split=0"
            )
        log.warning(
            "the training series has %d steps, too short for window=%d with calibration_split=%s; using a window of "
            "%d steps instead (window_)",
            n_steps,
            self.window,
            self.calibration_split,
            room,
        )
        return int(room)

    def _n_calibration(self, n_steps: int) -> int:
        """How many of ``n_steps`` training steps the held-out calibration tail takes."""
        return int(round(n_steps * self.calibration_split))

    def _split(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The training part and the held-out calibration tail (None when ``calibration_split == 0``)."""
        n_cal = self._n_calibration(len(X))
        if n_cal == 0:
            return X, None
        return X[:-n_cal], X[-n_cal:]

    def fit(self, X, y=None, *, validation=None) -> SeriesDetector:
        """Learn normal behaviour from ``X`` (normal operation, ``(T,)``, ``(T, D)`` or a DataFrame).

        ``validation=(X_val, labels)`` adds per-epoch validation metrics to ``history_`` (AUPRC, ROC-AUC and
        the notebook-style *oracle* best F1, on the scores the threshold is fitted on: before ``context``) and lets
        ``checkpoint="best"`` keep the epoch with the best validation AUPRC. ``y`` is ignored (scikit-learn convention).
        """
        self._validate_params()
        data, names = as_series(X)
        self.window_ = self._fit_window(len(data), data.shape[1])
        train, calibration = self._split(data)
        val = None
        if validation is not None:
            if not (isinstance(validation, (tuple, list)) and len(validation) == 2):
                raise InputError("validation must be a pair (X_val, labels)")
            val_x, _ = as_series(validation[0], "validation series")
            val = (val_x, as_labels(validation[1], len(val_x), "validation labels"))
            if val_x.shape[1] != data.shape[1]:
                raise InputError(f"validation series has {val_x.shape[1]} features, training has {data.shape[1]}")
        config = TrainConfig(self.epochs, self.batch_size, self.lr, self.checkpoint, "val_auprc", self.verbose,
                             self.precision)

        self.n_features_in_ = data.shape[1]
        self.feature_names_in_ = names
        self.seed_ = resolve_seed(self.random_state)
        self.device_ = resolve_device(self.device)
        self.scaler_ = self._fit_scaler(train)
        self.drifting_ = self._drifting(train, names)
        if self.drifting_.any():
            log.info("features %s drift in the training data: the model sees them centred on each window's mean",
                     self._feature_labels(self.drifting_))
        train_scaled = self._scale(train)
        self.stride_ = self._fit_stride(len(train_scaled))
        starts = window_starts(len(train_scaled), self.window_, self.stride_)

        def take(index: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(gather_windows(train_scaled, starts[index], self.window_))  # (B, W, D)

        def evaluate(model) -> dict:
            scores = self._score_scaled(model, self._scale(val[0]))
            return {
                "val_auprc": auprc(val[1], scores),
                "val_roc_auc": roc_auc(val[1], scores),
                "val_oracle_f1": oracle_best_f1_grid(val[1], scores).f1,
            }

        self._train(take, len(starts), config, evaluate if val else None)
        if calibration is None:
            source = "training data (calibration_split=0: optimistic, the model saw it)"
            return self._fit_threshold(self._score_scaled(self.model_, train_scaled), source, on_training=True)
        source = f"held-out tail of the training data ({len(calibration)} steps)"
        return self._fit_threshold(self._score_scaled(self.model_, self._scale(calibration)), source)

    @classmethod
    def _legacy_params(cls, params: dict) -> dict:
        # files from before drift existed scored every feature's level; files from before context ranked no step
        # by its neighbourhood
        return {"drift": None, "context": 0, **params}

    def _fit_scaler(self, train: np.ndarray) -> StandardScaler | None:
        """The standard scaler of the training part ``(T, D)`` (None with ``scaler=None``), floored by ``min_scale``."""
        if self.scaler != "standard":
            return None
        scaler = StandardScaler().fit(train)
        if self.min_scale:
            # a feature that barely moved in training (std far below its level) would read a small drift as many
            # standard deviations; its scale is at least min_scale x its mean absolute level
            scaler.scale_ = np.maximum(scaler.scale_, self.min_scale * np.abs(scaler.mean_))
        return scaler

    def _drifting(self, train: np.ndarray, names: list[str] | None) -> np.ndarray:
        """The ``(D,)`` mask of features the model sees centred on each window's mean (``drift``)."""
        if self.drift == "auto":
            return drifting_features(train)
        mask = np.zeros(train.shape[1], dtype=bool)
        for feature in self.drift or ():
            if isinstance(feature, str):
                if names is None or feature not in names:
                    known = f"its columns are {names}" if names else "it has no column names (pass a DataFrame)"
                    raise InputError(f"drift names feature {feature!r}, which the training data lacks; {known}")
                mask[names.index(feature)] = True
            elif not 0 <= feature < train.shape[1]:
                raise InputError(f"drift names column {feature}, but the training data has {train.shape[1]} "
                                 f"features (0 to {train.shape[1] - 1})")
            else:
                mask[int(feature)] = True
        return mask

    def _feature_labels(self, mask: np.ndarray) -> list:
        names = self.feature_names_in_
        return [names[j] if names else int(j) for j in np.flatnonzero(mask)]

    @property
    def drifting_features_(self) -> list:
        """The features (names, or column indices) the model sees centred on each window's mean."""
        self._check_fitted()
        return self._feature_labels(self.drifting_)

    def _build_model(self, kwargs: dict | None = None):
        """The registry's model, wrapped in :class:`~reconad.models.centred.LevelFree` when features drift."""
        model = build_model(self.model, **(kwargs or self._model_kwargs()))
        if self.drifting_.any():
            return LevelFree(model, torch.from_numpy(self.drifting_.astype(np.float32)))
        return model

    @property
    def _smooth(self) -> int:
        """``smooth``, or the model family's default when it is None (5 for dense / conv1d, else 1)."""
        if self.smooth is not None:
            return self.smooth
        return int(get_entry(self.model).defaults.get("smooth", 1))

    @property
    def _reach(self) -> tuple[int, int]:
        """How many steps left and right of a step its final score reads: the smoothing's, spread's and context's."""
        smooth, wide = self._smooth, SPREAD_REACH * (self.spread + self.context)
        return smooth // 2 + wide, smooth - 1 - smooth // 2 + wide

    def _finish_scores(
        self, raw: np.ndarray, raw_start: int, start: int, stop: int, length: int, context: bool = True
    ) -> np.ndarray:
        """Folded per-step errors of steps ``[raw_start, ...)`` -> final scores of ``[start, stop)``: smoothed,
        spread, and (with ``context``, which needs the fitted threshold) ranked by their neighbourhood below it.

        ``raw`` must cover ``[start - left, stop + right)`` (``_reach``) within ``[0, length)``.
        """
        reach = SPREAD_REACH * self.context if context and self.context else 0
        lo, hi = max(0, start - reach), min(length, stop + reach)
        if self.spread:
            wide = SPREAD_REACH * self.spread
            smooth_lo, smooth_hi = max(0, lo - wide), min(length, hi + wide)
            smoothed = centred_moving_average(raw, raw_start, smooth_lo, smooth_hi, length, self._smooth)
            scores = decayed_max(smoothed, smooth_lo, lo, hi, length, self.spread)
        else:
            scores = centred_moving_average(raw, raw_start, lo, hi, length, self._smooth)
        if not reach:
            return scores
        return with_context(scores, lo, start, stop, length, self.context, self.threshold_.value_)

    def _threshold_spec(self) -> Threshold:
        """A fresh threshold: ``threshold`` as given, or the default mean + 4 std (chosen by validation)."""
        return make_threshold(MeanStd(k=4.0) if self.threshold is None else self.threshold)

    def _model_kwargs(self) -> dict:
        return {
            "n_features": self.n_features_in_,
            "window": self.window_,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "latent_dim": self.latent_dim,
            "decoder": self.decoder,
        }

    # ---- scoring ------------------------------------------------------------------------------------------------

    def _scale(self, x: np.ndarray) -> np.ndarray:
        """Standardize with the training statistics, in float32: one copy of the series, never a float64 one."""
        if self.scaler_ is None:
            return x
        scaled = x - self.scaler_.mean_.astype(np.float32)  # (T, D) float32
        scaled /= self.scaler_.scale_.astype(np.float32)
        return scaled

    def _check_columns(self, X, what: str = "X") -> np.ndarray:
        """``X`` as float32 ``(T, D)``, checked to have the fitted columns (any number of rows)."""
        self._check_fitted()
        data, names = as_series(X, what)
        fitted = self.feature_names_in_
        if fitted is not None and names is not None and set(names) != set(fitted):
            extra, missing = [n for n in names if n not in fitted], [n for n in fitted if n not in names]
            found = ([f"columns the detector was not fitted on {extra}"] if extra else []) + (
                [f"no columns {missing}"] if missing else [])
            raise InputError(f"{what} has {' and '.join(found)}; pass the fitted columns {fitted} "
                             "(X[det.feature_names_in_])")
        if data.shape[1] != self.n_features_in_:
            raise InputError(
                f"{what} has {data.shape[1]} features but the detector was fitted on {self.n_features_in_}; "
                "pass the same columns as at fit time"
            )
        if fitted is not None and names is not None and names != fitted:
            raise InputError(
                f"{what} has columns {names} but the detector was fitted on {fitted}; "
                "pass the same columns in the same order"
            )
        return data

    def _prepare(self, X, what: str = "X") -> np.ndarray:
        data = self._check_columns(X, what)
        if len(data) < self.window_:
            raise InputError(
                f"{what} has {len(data)} steps, fewer than one window ({self.window_}); pass a longer series"
            )
        return self._scale(data)

    @property
    def _score_stride(self) -> int:
        return min(self.score_stride or self.stride, self.window_)

    def _reconstructions(self, model, x: np.ndarray, starts: np.ndarray):
        """The windows of ``x`` at ``starts`` and the model's reconstructions, in batches of ``_score_batch``.

        Yields ``(starts, windows, x_hat)`` per batch, windows and x_hat ``(B, W, D)``. Every scoring path runs
        through here, so the same windows always meet the model in the same batches (the same bits).
        """
        batch = self._score_batch(x.shape[1])
        device = next(model.parameters()).device
        model.eval()
        with torch.no_grad():
            for begin in range(0, len(starts), batch):
                part = starts[begin : begin + batch]
                windows = _to_device(torch.from_numpy(gather_windows(x, part, self.window_)), device)  # (B, W, D)
                with autocast(device, self.precision):
                    x_hat = model(windows)
                yield part, windows, x_hat.float()

    def _windows_pass(self, model, x: np.ndarray, reconstruct: bool = False, context: bool = False):
        """Per-step scores ``(T,)`` (and the folded reconstruction ``(T, D)``) of a scaled series, in batches.

        Without ``context`` the scores are those the threshold is fitted on (calibration, validation).
        """
        length, n_features = x.shape
        starts = window_starts(length, self.window_, self._score_stride)
        scores = WindowFolder(length, self.window_, self.fold)
        recon = WindowFolder(length, self.window_, "mean", trailing=(n_features,)) if reconstruct else None
        for part, windows, x_hat in self._reconstructions(model, x, starts):
            error = ((x_hat - windows) ** 2).amax(dim=-1)  # (B, W): max over features, as the notebook
            scores.add(error.cpu().numpy(), part)
            if recon is not None:
                recon.add(x_hat.cpu().numpy(), part)
        step_scores = self._finish_scores(scores.result(), 0, 0, length, length, context)
        return step_scores, (recon.result() if recon is not None else None)

    def _score_scaled(self, model, x: np.ndarray) -> np.ndarray:
        """The scores the threshold and validation metrics are computed on: without ``context``."""
        return self._windows_pass(model, x)[0]

    def _score_batch(self, n_features: int) -> int:
        return max(1, min(1024, 2**22 // (self.window_ * n_features)))  # windows per batch: bounded memory

    def _range_plan(self, out_start: int, out_end: int, total_length: int) -> tuple[np.ndarray, int, int]:
        """What scoring steps ``[out_start, out_end)`` of a ``total_length`` series needs, as one process would.

        Returns the global starts of the windows to run (whole batches of the one-process pass, so every model
        call sees the same batch and gives the same bits) and the rows ``[lo, hi)`` those windows read.
        """
        length, window, stride = int(total_length), self.window_, self._score_stride
        if length < window:
            raise InputError(f"the series has {length} steps, fewer than one window ({window}); pass a longer series")
        if not 0 <= out_start < out_end <= length:
            raise InputError(f"cannot score steps [{out_start}, {out_end}) of a series of {length} steps")
        left, right = self._reach  # the smoothing's, spread's and context's reach
        raw_lo, raw_hi = max(0, out_start - left), min(length, out_end + right)
        n_regular = (length - window) // stride + 1  # windows at 0, stride, 2 * stride, ...
        n_windows = n_regular + (1 if (length - window) % stride else 0)  # + the tail window ending at T
        first = min(-(-max(0, raw_lo - window + 1) // stride), n_windows - 1)  # first window covering raw_lo
        last = min((raw_hi - 1) // stride, n_regular - 1)  # last regular window starting before raw_hi
        if n_windows > n_regular and length - window <= raw_hi - 1:
            last = n_windows - 1  # the tail window covers raw_hi - 1 too
        batch = self._score_batch(self.n_features_in_)
        index = np.arange(first // batch * batch, min((last // batch + 1) * batch, n_windows), dtype=np.int64)
        starts = np.where(index < n_regular, index * stride, length - window)  # (N,) global starts, sorted
        return starts, int(starts[0]), int(starts[-1]) + window

    def _context_range(self, out_start: int, out_end: int, total_length: int) -> tuple[int, int]:
        """The rows ``[lo, hi)`` of the whole series that ``_score_range`` needs to score ``[out_start, out_end)``."""
        _, lo, hi = self._range_plan(out_start, out_end, total_length)
        return lo, hi

    def _score_range(self, X_context, context_start: int, out_start: int, out_end: int, total_length: int):
        """Scores of steps ``[out_start, out_end)`` of a ``total_length`` series, bit-identical to ``anomaly_score``
        on the whole series, from ``X_context``: its rows ``[context_start, context_start + len(X_context))``,
        which must include ``_context_range(out_start, out_end, total_length)``. For scoring in parts (Dask).
        """
        self._check_fitted()
        starts, lo, hi = self._range_plan(out_start, out_end, total_length)
        n_rows = len(X_context)
        if context_start > lo or context_start + n_rows < hi:
            raise InputError(
                f"scoring steps [{out_start}, {out_end}) needs rows [{lo}, {hi}) of the series, got rows "
                f"[{context_start}, {context_start + n_rows}); pass the rows _context_range gives"
            )
        x = self._prepare(X_context[lo - context_start : hi - context_start], "X_context")  # (hi - lo, D) scaled
        raw = WindowFolder(hi - lo, self.window_, self.fold)
        for part, windows, x_hat in self._reconstructions(self.model_, x, starts - lo):  # the one-process batches
            raw.add(((x_hat - windows) ** 2).amax(dim=-1).cpu().numpy(), part)  # (B, W)
        return self._finish_scores(raw.result(), lo, out_start, out_end, total_length)

    def anomaly_score(self, X) -> np.ndarray:
        """One score per step ``(T,)``: higher = more anomalous."""
        x = self._prepare(X)
        return self._windows_pass(self.model_, x, context=True)[0]

    def stream(self):
        """A :class:`~reconad.streaming.StreamScorer` for a series that arrives in pieces.

        ``scorer.update(rows)`` returns the final scores of the steps that became complete, ``scorer.finish()``
        the rest; concatenated they equal ``anomaly_score`` on the whole series (to float32 rounding).
        """
        from reconad.streaming import StreamScorer

        return StreamScorer(self)

    def reconstruct(self, X) -> np.ndarray:
        """The model's reconstruction of ``X`` ``(T, D)`` in the input's units (mean over covering windows)."""
        x = self._prepare(X)
        recon = self._windows_pass(self.model_, x, reconstruct=True)[1]
        if self.scaler_ is not None:
            recon = self.scaler_.inverse_transform(recon)
        return recon.astype(np.float32)

    def explain(self, X) -> np.ndarray:
        """Each feature's contribution to each step's score ``(T, D)``: which sensor made a step anomalous.

        The squared reconstruction error of every feature, folded over the covering windows (``fold``) and
        smoothed (``smooth``) exactly as the score is, but per feature instead of the max over features; with
        one feature it *is* the score before ``context`` (which only re-ranks the unflagged steps), and with several
        its row-wise max is at most the score. Rank the columns
        of a region's rows (e.g. their mean) to name the features that drove it.
        """
        x = self._prepare(X)
        length, n_features = x.shape
        starts = window_starts(length, self.window_, self._score_stride)
        folder = WindowFolder(length, self.window_, self.fold, trailing=(n_features,))
        for part, windows, x_hat in self._reconstructions(self.model_, x, starts):
            folder.add(((x_hat - windows) ** 2).cpu().numpy(), part)  # (B, W, D)
        per_feature = folder.result()  # (T, D)
        columns = [self._finish_scores(per_feature[:, j], 0, 0, length, length) for j in range(n_features)]
        return np.stack(columns, axis=1)  # (T, D)

    def explain_regions(self, X, regions=None, top: int = 3) -> list[dict]:
        """The features that drove each anomalous region, largest share first.

        ``regions`` are half-open ``(start, end)`` row ranges; by default the regions ``predict(X)`` flags. Each
        region gets ``{"start", "end", "features": [{"feature", "share"}, ...]}``: a feature's share is its mean
        :meth:`explain` contribution over the region's rows over the sum of all features' (the shares of all
        features add up to 1); the ``top`` largest are listed. A feature is its name (DataFrame input at fit
        time) or its column index.
        """
        from reconad.metrics import regions as flagged_regions

        check_int("top", top)
        contributions = self.explain(X)  # (T, D); checks X and that the detector is fitted
        if regions is None:
            regions = flagged_regions(self.predict(X))
        return region_shares(contributions, regions, self._feature_labels(np.ones(self.n_features_in_, bool)), top)

    # ---- persistence --------------------------------------------------------------------------------------------

    def _state_document(self) -> dict:
        scaler = None
        if self.scaler_ is not None:
            scaler = {"mean": self.scaler_.mean_.tolist(), "scale": self.scaler_.scale_.tolist()}
        return {
            "model_kwargs": self._model_kwargs(),
            "window": self.window_,
            "n_features_in": self.n_features_in_,
            "feature_names_in": self.feature_names_in_,
            "scaler": scaler,
            "threshold": self.threshold_.to_dict(),
            "threshold_source": self.threshold_source_,
            "drifting": [int(j) for j in np.flatnonzero(self.drifting_)],
            "stride": self.stride_,
            "seed": self.seed_,
            "history": self.history_,
            "best_epoch": self.best_epoch_,
        }

    def _restore_state(self, state: dict) -> None:
        self.window_ = state.get("window", self.window)  # files written before window_ existed used window
        if not (isinstance(self.window_, int) and 2 <= self.window_ <= self.window):
            raise ValueError(f"its window {self.window_!r} is not an integer in [2, window={self.window}]")
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
            for part in (self.scaler_.mean_, self.scaler_.scale_):
                if part.shape != (self.n_features_in_,) or not np.isfinite(part).all():
                    raise ValueError(f"its scaler does not hold {self.n_features_in_} finite values per statistic")
        names = self.feature_names_in_
        if names is not None and not (
            isinstance(names, list) and len(names) == self.n_features_in_ and all(isinstance(n, str) for n in names)
        ):
            raise ValueError(f"its feature names {names!r} are not {self.n_features_in_} strings")
        kwargs = state["model_kwargs"]
        if not isinstance(kwargs, dict) or (kwargs.get("n_features"), kwargs.get("window")) != (
            self.n_features_in_,
            self.window_,
        ):
            raise ValueError("its model arguments do not match its number of features and window")
        self.threshold_ = threshold_from_dict(state["threshold"])
        self.threshold_source_ = str(state["threshold_source"])
        self.seed_ = int(state["seed"])
        self.history_ = list(state["history"])
        self.best_epoch_ = state["best_epoch"]
        self.stride_ = state.get("stride", min(self.stride, self.window_))  # the training stride (files before: stride)
        if not (type(self.stride_) is int and self.stride_ >= 1):
            raise ValueError(f"its training stride {self.stride_!r} is not a positive integer")
        drifting = state.get("drifting", [])  # files written before drift existed centred nothing
        if not (isinstance(drifting, list) and all(type(j) is int and 0 <= j < self.n_features_in_ for j in drifting)):
            raise ValueError(f"its drifting features {drifting!r} are not column indices below {self.n_features_in_}")
        self.drifting_ = np.zeros(self.n_features_in_, dtype=bool)
        self.drifting_[drifting] = True
        self.model_ = self._build_model(state["model_kwargs"])


class ImageDetector(_Detector):
    """Reconstruction-based anomaly detector for images ``(N, H, W)`` or ``(N, C, H, W)`` with values in [0, 1].

    An auto-encoder (``model``, from the registry) learns to reconstruct the normal training images with Adam on
    the mean squared error. An image's score (higher = more anomalous) is its reconstruction error, measured by
    ``error``, plus, with ``density="knn"``, how far its latent code lies from the training images' codes:

    - ``error="cosine"`` (default): the cosine distance between the image and its reconstruction, both blurred by
      a Gaussian (one pixel at 28x28, scaled with the image): the shape the model could not reproduce, whatever
      the amount of ink;
      ``"blur"``: the blurred absolute error, squared; ``"mse"``: the mean squared error (the course's).
    - ``density="knn"`` (default): the mean cosine distance of the image's code to its 5 nearest training codes.
      The two terms are standardised on held-out normal images and added. ``None``: the error alone.
    - ``transforms="rotate"`` trains the model to *restore* images shown turned by a random quarter turn and
      scores the mean error of restoring every turn (see ``reconad.imaging``); ``None`` (default) reconstructs.

    The defaults (``model="deep-lrelu"``: 784 -> 512 -> 256 -> 64 with a linear code, 20 epochs in batches of 64)
    were chosen on a split of MNIST's *training* images, scikit-learn's 8x8 digits and synthetic shapes
    (``benchmarks/image_design.py``); the README has the ablation. ``error_map`` gives the error per pixel (its
    mean is the error term of the score).

    The label-free threshold is fitted on the scores of a random ``calibration_split`` fraction of the
    training images, which the model does not train on (the same images standardise the two score terms). With
    ``calibration_split=0`` the model trains on all images and the threshold comes from (optimistic) training
    scores; ``threshold_source_`` says which. ``checkpoint="best"`` keeps a copy of the weights of the epoch
    with the best validation ROC-AUC of the error term (needs ``fit(..., validation=(images, labels))``);
    ``"last"`` keeps the last epoch's. ``device`` and ``precision`` work as for :class:`SeriesDetector`.
    """

    _kind: ClassVar[str] = "image"

    def __init__(
        self,
        model: str = "deep-lrelu",
        *,
        latent_dim: int | None = None,
        hidden_size: int | None = None,
        num_layers: int | None = None,
        transforms: str | None = None,
        error: str = "cosine",
        density: str | None = "knn",
        epochs: int = 20,
        batch_size: int = 64,
        lr: float = 1e-3,
        checkpoint: str = "last",
        threshold: str | Threshold = "quantile",
        calibration_split: float = 0.1,
        random_state: int | None = None,
        device: str = "auto",
        precision: str = "fp32",
        verbose: bool = True,
    ):
        self.model = model
        self.latent_dim = latent_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.transforms = transforms
        self.error = error
        self.density = density
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.checkpoint = checkpoint
        self.threshold = threshold
        self.calibration_split = calibration_split
        self.random_state = random_state
        self.device = device
        self.precision = precision
        self.verbose = verbose

    # ---- fitting ------------------------------------------------------------------------------------------------

    def _validate_params(self) -> None:
        self._check_model_kind()
        if self.precision not in PRECISIONS:
            raise InputError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        check_int("latent_dim", self.latent_dim, allow_none=True)
        check_int("hidden_size", self.hidden_size, allow_none=True)
        check_int("num_layers", self.num_layers, allow_none=True)
        if self.transforms not in TRANSFORMS:
            raise InputError(f"transforms must be 'rotate' or None, got {self.transforms!r}")
        if self.error not in ERRORS:
            raise InputError(f"error must be one of {ERRORS}, got {self.error!r}")
        if self.density not in DENSITIES:
            raise InputError(f"density must be 'knn' or None, got {self.density!r}")
        if not (isinstance(self.calibration_split, (int, float)) and 0 <= self.calibration_split < 1):
            raise InputError(f"calibration_split must be a fraction in [0, 1), got {self.calibration_split!r}")
        make_threshold(self.threshold)

    def _split(self, n_images: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Indices of the training images and of the held-out calibration images (None when the split is 0)."""
        if self.calibration_split == 0:
            return np.arange(n_images), None
        n_cal = int(round(n_images * self.calibration_split))
        if n_cal < 1 or n_images - n_cal < 1:
            raise InputError(
                f"{n_images} training images cannot be split with calibration_split={self.calibration_split} "
                "into a training part and a held-out calibration part that both hold an image; pass more "
                "images, another calibration_split, or calibration_split=0"
            )
        order = np.random.default_rng(seed).permutation(n_images)
        return np.sort(order[n_cal:]), np.sort(order[:n_cal])

    def _labelled(self, pair, what: str) -> tuple[np.ndarray, np.ndarray]:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise InputError(f"{what} must be a pair (images, labels) with labels 0 = normal, 1 = anomaly")
        images = self._check_shape(as_images(pair[0], f"{what} images"), f"{what} images")
        labels = np.asarray(pair[1])
        if labels.ndim != 1 or len(labels) != len(images):
            raise InputError(f"{what} labels must have one value per image ({len(images)}), got shape {labels.shape}")
        if not np.isin(labels, (0, 1)).all() or len(np.unique(labels)) != 2:
            raise InputError(
                f"{what} labels must contain both 0 (normal) and 1 (anomaly) and nothing else, so that ROC-AUC "
                "is defined; map digit labels with e.g. np.isin(labels, anomaly_digits)"
            )
        return images, labels.astype(np.int8)

    def fit(self, X, y=None, *, validation=None, track: dict | None = None) -> ImageDetector:
        """Learn to reconstruct the normal images ``X`` (``(N, H, W)`` or ``(N, C, H, W)`` in [0, 1]).

        ``validation=(images, labels)`` (labels 0 = normal, 1 = anomaly) adds per-epoch validation ROC-AUC,
        AUPRC and the mean score of normal and of anomalous images to ``history_`` and lets
        ``checkpoint="best"`` keep the epoch with the best validation ROC-AUC. ``track={"test": (images,
        labels)}`` records the same metrics for other labelled sets (``test_roc_auc``, ...) without ever using
        them to choose the checkpoint. ``y`` is ignored (scikit-learn convention).
        """
        self._validate_params()
        images = as_images(X)
        self.image_shape_ = tuple(int(s) for s in images.shape[1:])  # (C, H, W)
        sets = {}
        if validation is not None:
            sets["val"] = self._labelled(validation, "validation")
        for name, pair in (track or {}).items():
            if name == "val":
                raise InputError("track cannot use the name 'val'; it is reserved for validation=")
            sets[str(name)] = self._labelled(pair, f"track[{name!r}]")
        config = TrainConfig(self.epochs, self.batch_size, self.lr, self.checkpoint, "val_roc_auc", self.verbose,
                             self.precision)
        if config.checkpoint == "best" and validation is None:
            raise InputError("checkpoint='best' needs validation data to choose the best epoch; pass validation=...")

        self.seed_ = resolve_seed(self.random_state)
        self.device_ = resolve_device(self.device)
        train_index, cal_index = self._split(len(images), self.seed_)
        train = images if cal_index is None else images[train_index]

        options = turns(*self.image_shape_[1:], self.transforms)

        def take(index: np.ndarray):
            x = torch.from_numpy(train[index])  # (B, C, H, W)
            return x if options == [0] else (random_turns(x, options), x)  # restore x from a turned copy

        def evaluate(model) -> dict:
            record = {}
            for name, (x, labels) in sets.items():
                scores = self._parts(model, x)[0]  # the error term: the density needs the finished model
                record[f"{name}_roc_auc"] = roc_auc(labels, scores)
                record[f"{name}_auprc"] = auprc(labels, scores)
                record[f"{name}_normal_score"] = float(scores[labels == 0].mean())
                record[f"{name}_anomaly_score"] = float(scores[labels == 1].mean())
            return record

        self._train(take, len(train), config, evaluate if sets else None)
        self.memory_, self.score_stats_ = None, None
        if self.density is not None:
            self.memory_ = self._parts(self.model_, train, codes=True)[1]  # (N, L) codes of the training images
        held_out = images if cal_index is None else images[cal_index]
        errors, codes = self._parts(self.model_, held_out, codes=self.density is not None)
        if self.density is not None:  # standardise both terms on normal images the model did not train on
            density = knn_distance(codes, self.memory_, skip_self=cal_index is None).numpy().astype(np.float64)
            self.score_stats_ = {"error": _mean_std(errors), "density": _mean_std(density)}
            calibration = self._combine(errors, density)
        else:
            calibration = errors
        if cal_index is None:
            source = "training images (calibration_split=0: optimistic, the model saw them)"
            return self._fit_threshold(calibration, source, on_training=True)
        return self._fit_threshold(calibration, f"held-out training images ({len(cal_index)} of {len(images)})")

    def _combine(self, errors: np.ndarray, density: np.ndarray) -> np.ndarray:
        (e_mean, e_std), (d_mean, d_std) = self.score_stats_["error"], self.score_stats_["density"]
        return (errors - e_mean) / e_std + (density - d_mean) / d_std

    def _model_kwargs(self, image_shape: tuple[int, int, int] | None = None) -> dict:
        channels, height, width = image_shape or self.image_shape_
        return {
            "in_channels": channels,
            "height": height,
            "width": width,
            "latent_dim": self.latent_dim,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
        }

    # ---- scoring ------------------------------------------------------------------------------------------------

    def _check_shape(self, images: np.ndarray, what: str) -> np.ndarray:
        if hasattr(self, "image_shape_") and tuple(images.shape[1:]) != tuple(self.image_shape_):
            raise InputError(
                f"{what} have shape (C, H, W) = {tuple(images.shape[1:])} but the detector was fitted on "
                f"{tuple(self.image_shape_)}; resize them to the training size"
            )
        return images

    def _prepare(self, X, what: str = "images") -> np.ndarray:
        self._check_fitted()
        return self._check_shape(as_images(X, what), what)

    def _passes(self, model, images: np.ndarray, quarter_turns: tuple[int, ...] = (0,)):
        """Yield ``(x, x_hats)`` per batch: images ``(B, C, H, W)`` and the model's reconstruction of each, one per
        entry of ``quarter_turns`` (the model sees the image turned and restores it upright); no gradients."""
        device = next(model.parameters()).device
        batch = max(1, 2**22 // int(np.prod(images.shape[1:])))  # bounded memory per batch
        model.eval()
        with torch.no_grad():
            for begin in range(0, len(images), batch):
                x = _to_device(torch.from_numpy(images[begin : begin + batch]), device)
                with autocast(device, self.precision):
                    x_hats = [model(turn(x, k)).float() for k in quarter_turns]
                yield x, x_hats

    def _error_maps(self, model, images: np.ndarray):
        """Yield per-pixel error maps ``(B, C, H, W)``: restoring each image from every turn, averaged."""
        options = tuple(turns(*images.shape[2:], self.transforms))
        for x, x_hats in self._passes(model, images, options):
            maps = [error_map(x_hat, x, self.error) for x_hat in x_hats]
            yield maps[0] if len(maps) == 1 else torch.stack(maps).mean(dim=0)

    def _parts(self, model, images: np.ndarray, codes: bool = False) -> tuple[np.ndarray, torch.Tensor | None]:
        """The error term ``(N,)`` of every image and, with ``codes``, their latent codes ``(N, L)`` on the CPU."""
        errors, latents = [], []
        for m in self._error_maps(model, images):
            errors.append(m.mean(dim=(1, 2, 3)).cpu().numpy())
        if codes:
            device = next(model.parameters()).device
            with torch.no_grad():
                for begin in range(0, len(images), 4096):
                    x = _to_device(torch.from_numpy(images[begin : begin + 4096]), device)
                    with autocast(device, self.precision):
                        latents.append(model.encode(x).float().cpu())
        return np.concatenate(errors).astype(np.float64), (torch.cat(latents) if codes else None)

    def _scores(self, model, images: np.ndarray) -> np.ndarray:
        if self.density is None:
            return self._parts(model, images)[0]
        errors, codes = self._parts(model, images, codes=True)
        return self._combine(errors, knn_distance(codes, self.memory_).numpy().astype(np.float64))

    def anomaly_score(self, X) -> np.ndarray:
        """One score per image ``(N,)``, higher = more anomalous: the error term (the mean of ``error_map``), plus
        the latent density term with ``density="knn"`` (both standardised on held-out normal images)."""
        images = self._prepare(X)
        return self._scores(self.model_, images)

    def error_map(self, X) -> np.ndarray:
        """The error of every pixel ``(N, C, H, W)``; its per-image mean is the error term of the score.

        ``error="mse"``: the squared reconstruction error; ``"blur"``: the absolute error smoothed by a Gaussian
        (one pixel at 28x28), squared; ``"cosine"``: the blurred images' cosine distance, spread over the pixels. With
        ``transforms="rotate"`` the image is restored from each of its turns and the maps (all upright) are
        averaged.
        """
        images = self._prepare(X)
        return np.concatenate([m.cpu().numpy() for m in self._error_maps(self.model_, images)])

    def reconstruct(self, X) -> np.ndarray:
        """The model's reconstruction of the images ``(N, C, H, W)`` (upright, as given), in [0, 1]."""
        images = self._prepare(X)
        return np.concatenate([x_hats[0].cpu().numpy() for _, x_hats in self._passes(self.model_, images)])

    def summary(self, batch_size: int = 1, image_shape: tuple[int, int, int] | None = None) -> str:
        """A text table of the model's layers (output shape, parameters) and its parameter count, like torchinfo.

        A fitted detector uses its own model; an unfitted one builds its model for ``image_shape`` ``(C, H, W)``.
        """
        if image_shape is None:
            self._check_fitted()
            model, image_shape = self.model_, self.image_shape_
        else:
            self._validate_params()
            model = build_model(self.model, **self._model_kwargs(tuple(image_shape)))
        return layer_table(model, (batch_size, *image_shape))

    # ---- persistence --------------------------------------------------------------------------------------------

    def _state_document(self) -> dict:
        return {
            "model_kwargs": self._model_kwargs(),
            "image_shape": list(self.image_shape_),
            "score_stats": self.score_stats_,
            "threshold": self.threshold_.to_dict(),
            "threshold_source": self.threshold_source_,
            "seed": self.seed_,
            "history": self.history_,
            "best_epoch": self.best_epoch_,
        }

    @classmethod
    def _legacy_params(cls, params: dict) -> dict:
        # files from before restoration, error measures and the latent density scored the plain squared error
        return {"transforms": None, "error": "mse", "density": None, **params}

    def _extra_tensors(self) -> dict[str, torch.Tensor]:
        return {} if self.memory_ is None else {"memory.codes": self.memory_.contiguous()}

    def _restore_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.memory_ = None
        if self.density is None:
            return
        codes = tensors.get("memory.codes")
        if codes is None:
            raise ValueError("it has density='knn' but no training codes (memory.codes)")
        width = self.model_.encode(torch.zeros(1, *self.image_shape_)).shape[1]
        if codes.ndim != 2 or codes.shape[1] != width or len(codes) < 1 or codes.dtype != torch.float32:
            raise ValueError(f"its training codes have shape {tuple(codes.shape)}, not (N, {width}) float32")
        if not torch.isfinite(codes).all():
            raise ValueError("its training codes hold NaN or infinite values")
        self.memory_ = codes

    def _restore_state(self, state: dict) -> None:
        self.score_stats_ = state.get("score_stats")
        if self.density is not None:
            stats = self.score_stats_
            ok = isinstance(stats, dict) and set(stats) == {"error", "density"} and all(
                isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v)
                and np.isfinite(v).all() and v[1] > 0 for v in stats.values()
            )
            if not ok:
                raise ValueError(f"its score statistics {stats!r} are not finite [mean, std > 0] pairs")
        self.image_shape_ = tuple(int(s) for s in state["image_shape"])
        self.threshold_ = threshold_from_dict(state["threshold"])
        self.threshold_source_ = str(state["threshold_source"])
        self.seed_ = int(state["seed"])
        self.history_ = list(state["history"])
        self.best_epoch_ = state["best_epoch"]
        self.model_ = build_model(self.model, **state["model_kwargs"])


def layer_table(model: torch.nn.Module, input_shape: tuple[int, ...]) -> str:
    """A torchinfo-like table: every module in call order with its output shape and its own parameters.

    Forward hooks record one pass on zeros of ``input_shape``; a container shows ``--`` for parameters (its
    children carry them), so the column adds up to the total.
    """
    names = {module: name for name, module in model.named_modules()}
    rows: list[list[str]] = []  # [label, output shape, parameters], in the order modules are entered
    open_rows: list[int] = []

    def enter(module, _inputs):
        name = names[module]
        own = sum(p.numel() for p in module.parameters(recurse=False))
        leaf = next(module.children(), None) is None
        label = "  " * len(open_rows) + type(module).__name__ + (f" ({name})" if name else "")  # nesting = depth
        rows.append([label, "--", f"{own:,}" if leaf or own else "--"])
        open_rows.append(len(rows) - 1)

    def leave(_module, _inputs, output):
        rows[open_rows.pop()][1] = str(list(output.shape)) if isinstance(output, torch.Tensor) else "--"

    hooks = [h for m in names for h in (m.register_forward_pre_hook(enter), m.register_forward_hook(leave))]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(input_shape, device=next(model.parameters()).device))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    width = max(len("Layer (type)"), *(len(row[0]) for row in rows)) + 2
    rule = "=" * (width + 34)
    lines = [f"{'Layer (type)':<{width}}{'Output Shape':<22}{'Param #':>12}", rule]
    lines += [f"{label:<{width}}{shape:<22}{params:>12}" for label, shape, params in rows]
    lines += [
        rule,
        f"Input shape: {list(input_shape)}",
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
    ]
    return "\n".join(lines) + "\n"


DETECTORS: dict[str, type[_Detector]] = {"SeriesDetector": SeriesDetector, "ImageDetector": ImageDetector}


def load(path: str | os.PathLike) -> _Detector:
    """Load a detector saved with ``save``. Never unpickles: a file that is not a reconad model is refused."""
    document, tensors = read_model_file(path)
    kind = require(document, "detector", str, path)
    if kind not in DETECTORS:
        raise ModelFileError(f"{path} holds an unknown detector type {kind!r}")
    return DETECTORS[kind]._from_document(document, tensors, path)

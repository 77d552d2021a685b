"""The image detector: learn to reconstruct normal images, then score every image (one score each)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from reconad.data.images import as_images
from reconad.detectors.base import BaseDetector
from reconad.detectors.summary import layer_table
from reconad.errors import InputError
from reconad.imaging import DENSITIES, ERRORS, TRANSFORMS, error_map, knn_distance, random_turns, turn, turns
from reconad.metrics import auprc, roc_auc
from reconad.models import build_model
from reconad.persistence import MAX_IMAGE_VALUES, MAX_LAYERS, MAX_SIZE, check_count, check_model_kwargs
from reconad.scoring import to_device
from reconad.thresholds import threshold_from_dict
from reconad.training import TrainConfig, resolve_device, resolve_seed
from reconad.validation import check_int


def _mean_std(values: np.ndarray) -> list[float]:
    """Mean and standard deviation (never 0: a constant term would divide by zero) of calibration values."""
    return [float(values.mean()), float(max(values.std(), 1e-12))]


class ImageDetector(BaseDetector):
    """Reconstruction-based anomaly detector for images ``(N, H, W)`` or ``(N, C, H, W)`` with values in [0, 1].

    Why: train on normal images only (say, the digits you expect) and rank new images by how badly the model
    reconstructs them; flag them at a threshold fitted without labels.

    An auto-encoder (``model``, from the registry: ``reconad.list_models(kind="image")``) learns to reconstruct the
    normal training images. An image's score (higher = more anomalous) is its reconstruction error, measured by
    ``error``, plus, with ``density="knn"``, how far its latent code lies from the training images' codes:

    - ``error="cosine"`` (default): the cosine distance between the image and its reconstruction, both blurred a
      little: the shape the model could not reproduce, whatever the amount of ink; ``"blur"``: the blurred absolute
      error, squared; ``"mse"``: the mean squared error (the course's).
    - ``density="knn"`` (default): the mean cosine distance of the image's code to its 5 nearest training codes,
      for anomalies the model reconstructs well; the two terms are standardised on held-out normal images and
      added. ``None``: the error alone.
    - ``transforms="rotate"`` trains the model to *restore* images shown turned by a random quarter turn and scores
      the mean error of restoring every turn; ``None`` (default) reconstructs.

    ``calibration_split`` holds out a random share of the training images to fit the label-free ``threshold`` (and
    standardise the two score terms) on images the model did not train on. ``latent_dim``, ``hidden_size``,
    ``num_layers``, ``epochs``, ``batch_size``, ``lr``, ``random_state``, ``device`` and ``verbose`` work as for
    :class:`~reconad.SeriesDetector`.
    """

    kind: ClassVar[str] = "image"
    default_threshold: ClassVar = "quantile"

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
        threshold="quantile",
        calibration_split: float = 0.1,
        random_state: int | None = None,
        device: str = "auto",
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
        self.threshold = threshold
        self.calibration_split = calibration_split
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # ---- fitting -----------------------------------------------------------------------------------------------------

    def _validate_params(self) -> None:
        self._check_model_kind()
        check_int("latent_dim", self.latent_dim, allow_none=True, maximum=MAX_SIZE)
        check_int("hidden_size", self.hidden_size, allow_none=True, maximum=MAX_SIZE)
        check_int("num_layers", self.num_layers, allow_none=True, maximum=MAX_LAYERS)
        if self.transforms not in TRANSFORMS:
            raise InputError(f"transforms must be 'rotate' or None, got {self.transforms!r}")
        if self.error not in ERRORS:
            raise InputError(f"error must be one of {ERRORS}, got {self.error!r}")
        if self.density not in DENSITIES:
            raise InputError(f"density must be 'knn' or None, got {self.density!r}")
        if not (isinstance(self.calibration_split, (int, float)) and 0 <= self.calibration_split < 1):
            raise InputError(f"calibration_split must be a fraction in [0, 1), got {self.calibration_split!r}")
        self.new_threshold()

    def _split(self, n_images: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Indices of the training images and of the held-out calibration images (None when the split is 0)."""
        if self.calibration_split == 0:
            return np.arange(n_images), None
        n_cal = int(round(n_images * self.calibration_split))
        if n_cal < 1 or n_images - n_cal < 1:
            raise InputError(
                f"{n_images} training images cannot be split with calibration_split={self.calibration_split} into a "
                "training part and a held-out calibration part that both hold an image; pass more images, another "
                "calibration_split, or calibration_split=0")
        order = np.random.default_rng(seed).permutation(n_images)
        return np.sort(order[n_cal:]), np.sort(order[:n_cal])

    def _labelled(self, pair, what: str, shape: tuple) -> tuple[np.ndarray, np.ndarray]:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise InputError(f"{what} must be a pair (images, labels) with labels 0 = normal, 1 = anomaly")
        images = self._check_shape(as_images(pair[0], f"{what} images"), f"{what} images", shape)
        labels = np.asarray(pair[1])
        if labels.ndim != 1 or len(labels) != len(images):
            raise InputError(f"{what} labels must have one value per image ({len(images)}), got shape {labels.shape}")
        if not np.isin(labels, (0, 1)).all() or len(np.unique(labels)) != 2:
            raise InputError(f"{what} labels must contain both 0 (normal) and 1 (anomaly) and nothing else, so that "
                             "ROC-AUC is defined; map digit labels with e.g. np.isin(labels, anomaly_digits)")
        return images, labels.astype(np.int8)

    def fit(self, X, y=None, *, validation=None, track: dict | None = None) -> ImageDetector:
        """Learn to reconstruct the normal images ``X`` (``(N, H, W)`` or ``(N, C, H, W)`` in [0, 1]).

        ``validation=(images, labels)`` (labels 0 = normal, 1 = anomaly) records per-epoch validation ROC-AUC,
        AUPRC and the mean score of normal and of anomalous images in ``history_`` and keeps the weights of the epoch
        with the best validation ROC-AUC. ``track={"test": (images, labels)}`` records the same metrics for other
        labelled sets without choosing the epoch. ``y`` is ignored. A failed fit leaves a fitted detector as it was.
        """
        self._validate_params()
        images = as_images(X)
        shape = tuple(int(s) for s in images.shape[1:])  # (C, H, W)
        if int(np.prod(shape)) > MAX_IMAGE_VALUES:
            raise InputError(f"images of shape (C, H, W) = {shape} hold {int(np.prod(shape)):,} values; the image "
                             f"detector takes at most {MAX_IMAGE_VALUES:,} (a saved model with more could not be "
                             "loaded back); resize them")
        sets = {}
        if validation is not None:
            sets["val"] = self._labelled(validation, "validation", shape)
        for name, pair in (track or {}).items():
            if name == "val":
                raise InputError("track cannot use the name 'val'; it is reserved for validation=")
            sets[str(name)] = self._labelled(pair, f"track[{name!r}]", shape)
        config = TrainConfig(self.epochs, self.batch_size, self.lr, "best" if validation is not None else "last",
                             "val_roc_auc", self.verbose)
        seed, device = resolve_seed(self.random_state), resolve_device(self.device)
        train_index, cal_index = self._split(len(images), seed)
        train = images if cal_index is None else images[train_index]
        options = turns(*shape[1:], self.transforms)

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

        model, history, best_epoch = self._train_model(lambda: build_model(self.model, **self._model_kwargs(shape)),
                                                       take, len(train), config, evaluate if sets else None, seed,
                                                       device)
        memory, stats = None, None
        if self.density is not None:
            memory = self._parts(model, train, codes=True)[1]  # (N, L) codes of the training images
        held_out = images if cal_index is None else images[cal_index]
        errors, codes = self._parts(model, held_out, codes=self.density is not None)
        calibration = errors
        if self.density is not None:  # standardise both terms on normal images the model did not train on
            density = knn_distance(codes, memory, skip_self=cal_index is None).numpy().astype(np.float64)
            stats = {"error": _mean_std(errors), "density": _mean_std(density)}
            calibration = self._combine(errors, density, stats)
        if cal_index is None:
            source = "training images (calibration_split=0: optimistic, the model saw them)"
        else:
            source = f"held-out training images ({len(cal_index)} of {len(images)})"
        self._commit({"model_": model, "image_shape_": shape, "memory_": memory, "score_stats_": stats,
                      "seed_": seed, "device_": device, "history_": history, "best_epoch_": best_epoch,
                      "threshold_": self._fitted_threshold(calibration), "threshold_source_": source,
                      "calibration_scores_": calibration, "training_data_": None})
        return self

    @staticmethod
    def _combine(errors: np.ndarray, density: np.ndarray, stats: dict) -> np.ndarray:
        (e_mean, e_std), (d_mean, d_std) = stats["error"], stats["density"]
        return (errors - e_mean) / e_std + (density - d_mean) / d_std

    def _model_kwargs(self, image_shape: tuple[int, int, int]) -> dict:
        channels, height, width = image_shape
        return {"in_channels": channels, "height": height, "width": width, "latent_dim": self.latent_dim,
                "hidden_size": self.hidden_size, "num_layers": self.num_layers}

    # ---- scoring -----------------------------------------------------------------------------------------------------

    @staticmethod
    def _check_shape(images: np.ndarray, what: str, shape: tuple) -> np.ndarray:
        if tuple(images.shape[1:]) != tuple(shape):
            raise InputError(f"{what} have shape (C, H, W) = {tuple(images.shape[1:])} but the detector was fitted "
                             f"on {tuple(shape)}; resize them to the training size")
        return images

    def _prepare(self, X, what: str = "images") -> np.ndarray:
        self._check_fitted()
        return self._check_shape(as_images(X, what), what, self.image_shape_)

    def _passes(self, model, images: np.ndarray, quarter_turns: tuple[int, ...] = (0,)):
        """Yield ``(x, x_hats)`` per batch: images ``(B, C, H, W)`` and the model's reconstruction of each turn."""
        device = next(model.parameters()).device
        batch = max(1, 2**22 // int(np.prod(images.shape[1:])))  # bounded memory per batch
        model.eval()
        with torch.no_grad():
            for begin in range(0, len(images), batch):
                x = to_device(torch.from_numpy(images[begin : begin + batch]), device)
                yield x, [model(turn(x, k)).float() for k in quarter_turns]

    def _error_maps(self, model, images: np.ndarray):
        """Yield per-pixel error maps ``(B, C, H, W)``: restoring each image from every turn, averaged."""
        options = tuple(turns(*images.shape[2:], self.transforms))
        for x, x_hats in self._passes(model, images, options):
            maps = [error_map(x_hat, x, self.error) for x_hat in x_hats]
            yield maps[0] if len(maps) == 1 else torch.stack(maps).mean(dim=0)

    def _parts(self, model, images: np.ndarray, codes: bool = False) -> tuple[np.ndarray, torch.Tensor | None]:
        """The error term ``(N,)`` of every image and, with ``codes``, their latent codes ``(N, L)`` on the CPU."""
        errors = [m.mean(dim=(1, 2, 3)).cpu().numpy() for m in self._error_maps(model, images)]
        latents = []
        if codes:
            device = next(model.parameters()).device
            with torch.no_grad():
                for begin in range(0, len(images), 4096):
                    x = to_device(torch.from_numpy(images[begin : begin + 4096]), device)
                    latents.append(model.encode(x).float().cpu())
        return np.concatenate(errors).astype(np.float64), (torch.cat(latents) if codes else None)

    def anomaly_score(self, X) -> np.ndarray:
        """One score per image ``(N,)``, higher = more anomalous: the error term (the mean of ``error_map``), plus
        the latent density term with ``density="knn"`` (both standardised on held-out normal images)."""
        images = self._prepare(X)
        if self.density is None:
            return self._parts(self.model_, images)[0]
        errors, codes = self._parts(self.model_, images, codes=True)
        return self._combine(errors, knn_distance(codes, self.memory_).numpy().astype(np.float64), self.score_stats_)

    def error_map(self, X, per_channel: bool = False) -> np.ndarray:
        """The anomaly map: the error of every pixel ``(N, H, W)``, higher = more anomalous, for every model and
        ``error``; with ``per_channel`` the error of every channel ``(N, C, H, W)``.

        Why: it shows *where* an image is anomalous (the report overlays it on the worst images) and, against
        defect masks, measures localisation (``reconad.metrics.pixel_roc_auc`` / ``pro_auc``). A pixel's value is
        the mean over the channels of its ``error`` (squared for ``"mse"``, blurred for ``"blur"`` and
        ``"cosine"``; averaged over the turns with ``transforms="rotate"``), so the map's per-image mean is the
        error term of the score; the latent density term has no place in an image and is not in the map.
        """
        images = self._prepare(X)
        maps = np.concatenate([m.cpu().numpy() for m in self._error_maps(self.model_, images)])
        return maps if per_channel else maps.mean(axis=1)

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

    # ---- persistence -------------------------------------------------------------------------------------------------

    def _state_document(self) -> dict:
        kwargs = self._model_kwargs(self.image_shape_)
        if kwargs["num_layers"] is None:  # the depth the family chose for this image size, spelled out
            kwargs["num_layers"] = getattr(self.model_, "num_layers", None)
        return {"model_kwargs": kwargs, "image_shape": list(self.image_shape_),
                "score_stats": self.score_stats_, "threshold": self.threshold_.to_dict(),
                "threshold_source": self.threshold_source_, "seed": self.seed_, "history": self.history_,
                "best_epoch": self.best_epoch_}

    def _extra_tensors(self) -> dict[str, torch.Tensor]:
        return {} if self.memory_ is None else {"memory.codes": self.memory_.contiguous()}

    def _restore_state(self, state: dict, tensors: dict | None = None) -> dict:
        stats = state.get("score_stats")
        if self.density is not None:
            ok = isinstance(stats, dict) and set(stats) == {"error", "density"} and all(  # bounded: sums stay finite
                isinstance(v, list) and len(v) == 2 and all(type(x) in (int, float) for x in v)
                and abs(v[0]) <= 1e6 and 1e-12 <= v[1] <= 1e6 for v in stats.values())
            if not ok:
                raise ValueError(f"its score statistics {stats!r} are not [mean, std] pairs with |mean| <= 1e6 and "
                                 "std in [1e-12, 1e6]")
        shape = state["image_shape"]
        if not (isinstance(shape, list) and len(shape) == 3):
            raise ValueError(f"its image shape {shape!r} is not [channels, height, width]")
        shape = tuple(check_count(n, "image shape", 1, MAX_IMAGE_VALUES) for n in shape)
        if int(np.prod(shape)) > MAX_IMAGE_VALUES:
            raise ValueError(f"its image shape {shape} holds over {MAX_IMAGE_VALUES:,} values per image")
        kwargs = check_model_kwargs(state["model_kwargs"])
        if tuple(kwargs.get(k) for k in ("in_channels", "height", "width")) != shape:
            raise ValueError(f"its image shape {shape} does not match its model arguments (in_channels, height, "
                             f"width) = {tuple(kwargs.get(k) for k in ('in_channels', 'height', 'width'))}")
        if kwargs.get("num_layers") is None and self.model in ("conv", "conv-bn"):
            kwargs["num_layers"] = 2  # files from before the conv depth grew with the image were built with 2
        model = build_model(self.model, **kwargs)
        return {"model_": model, "image_shape_": shape, "score_stats_": stats,
                "memory_": self._memory(kwargs, shape, tensors) if tensors else None,
                "threshold_": threshold_from_dict(state["threshold"]),
                "threshold_source_": str(state["threshold_source"]), "seed_": int(state["seed"]),
                "history_": list(state["history"]), "best_epoch_": state["best_epoch"]}

    def _memory(self, kwargs: dict, shape: tuple, tensors: dict) -> torch.Tensor | None:
        """The training codes a file holds for ``density="knn"``, checked (raises ValueError if they are bad)."""
        if self.density is None:
            return None
        codes = tensors.get("memory.codes")
        if codes is None:
            raise ValueError("it has density='knn' but no training codes (memory.codes)")
        with torch.device("meta"):  # the code width of a twin on no memory: a file's shape allocates nothing
            width = build_model(self.model, **kwargs).encode(torch.zeros(1, *shape)).shape[1]
        if codes.ndim != 2 or codes.shape[1] != width or len(codes) < 1 or codes.dtype != torch.float32:
            raise ValueError(f"its training codes have shape {tuple(codes.shape)}, not (N, {width}) float32")
        if not torch.isfinite(codes).all():
            raise ValueError("its training codes hold NaN or infinite values")
        return codes

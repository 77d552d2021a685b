"""One-file model format: a safetensors file whose header metadata holds the detector's JSON description.

- the weights are safetensors tensors (``model.<name>``), which can only ever be read as numbers;
- everything else (detector class, parameters, model name and arguments, scaler, threshold, feature names,
  history, library versions) is one JSON document under the header's ``__metadata__["reconad"]``.

Nothing here unpickles or evaluates anything: a file is either this format, or refused with
:class:`ModelFileError`. Files are written to a temporary name beside the target and renamed into place,
so a crash never leaves a half-written model.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from reconad.atomic import atomic_write_bytes
from reconad.errors import InputError, ModelFileError

FORMAT = "reconad"
FORMAT_VERSION = 1
HEADER_LIMIT = 16 * 1024 * 1024  # a saved detector's JSON is kilobytes; safetensors itself allows 100 MB


def write_model_file(path: str | os.PathLike, tensors: dict[str, torch.Tensor], config: dict) -> Path:
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, **config}
    metadata = {FORMAT: json.dumps(document)}
    tensors = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
    return atomic_write_bytes(path, save_safetensors(tensors, metadata=metadata))


def read_model_file(path: str | os.PathLike) -> tuple[dict, dict[str, torch.Tensor]]:
    """The JSON description and the tensors of a reconad model file, or a :class:`ModelFileError`."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"model file {path} does not exist; check the path")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a model file")
    what = f"{path} is not a reconad model file"
    if not path.is_file():  # a device or a pipe could be read forever
        raise ModelFileError(f"{what}: it is not a regular file; pass the path of a saved .reconad file")
    with path.open("rb") as handle:  # the header first: its sizes are checked against the file before the body
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise ModelFileError(f"{what}: it is empty; save a detector with det.save(path) first")
        if size < 8:
            raise ModelFileError(f"{what}: it is only {size} bytes long (truncated?)")
        (header_size,) = struct.unpack("<Q", handle.read(8))
        if header_size > HEADER_LIMIT and header_size <= size - 8:
            raise ModelFileError(f"{what}: its header is {header_size:,} bytes, over the {HEADER_LIMIT:,} a reconad "
                                 "model ever needs")
        if header_size > size - 8:
            raise ModelFileError(f"{what}: it does not start with a safetensors header (foreign or truncated file)")
        header, document = _header(handle.read(header_size), what)
        _check_version(document, path, what)
        _check_body_size(header, size - 8 - header_size, path)
        handle.seek(0)
        data = handle.read()
    try:
        tensors = load_safetensors(data)
    except Exception as exc:  # safetensors raises its own error types for every kind of damage
        raise ModelFileError(f"{path} is damaged: its weights cannot be read ({exc}); save it again") from exc
    return document, tensors


def _header(raw: bytes, what: str) -> tuple[dict, dict]:
    """The safetensors header and the reconad document it carries, or a :class:`ModelFileError`."""
    try:
        header = json.loads(raw)
        document = json.loads(header["__metadata__"][FORMAT])
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ModelFileError(f"{what}: its header carries no reconad description ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(f"{what}: its description is not a reconad model")
    return header, document


def _check_version(document: dict, path, what: str) -> None:
    version = document.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{what}: it has no valid format_version (a whole number >= 1)")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer reconad (format {version}; this one reads up to {FORMAT_VERSION}); "
            "upgrade reconad to load it"
        )


def _check_body_size(header: dict, body: int, path) -> None:
    """The tensors the header declares end exactly where the file does (checked before the body is read)."""
    try:
        ends = [int(entry["data_offsets"][1]) for name, entry in header.items() if name != "__metadata__"]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ModelFileError(f"{path} is damaged: its header does not describe its tensors ({exc}); save it again") \
            from exc
    if max(ends, default=0) != body:
        raise ModelFileError(f"{path} is damaged: its header declares {max(ends, default=0):,} bytes of weights but "
                             f"the file holds {body:,} (truncated, or padded with foreign data); save it again")


def require(document: dict, key: str, kind: type | tuple[type, ...], path: str | os.PathLike) -> object:
    """``document[key]`` if present and of the expected JSON type, else a :class:`ModelFileError`."""
    if key not in document:
        raise ModelFileError(f"{path} is not a valid reconad model: field {key!r} is missing")
    value = document[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise ModelFileError(f"{path} is not a valid reconad model: field {key!r} has the wrong type")
    return value


def check_weights(expected: dict[str, torch.Tensor], weights: dict[str, torch.Tensor]) -> None:
    """The file's tensors are exactly the model's: same names, shapes and dtypes, and finite numbers."""
    if set(expected) != set(weights):
        missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
        raise ValueError(f"its weights do not fit the model (missing {missing[:5]}, unexpected {extra[:5]})")
    for name, tensor in weights.items():
        want = expected[name]
        if tensor.shape != want.shape or tensor.dtype != want.dtype:
            raise ValueError(f"weight {name!r} is {tensor.dtype} {tuple(tensor.shape)}, the model needs {want.dtype} "
                             f"{tuple(want.shape)}")
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ValueError(f"weight {name!r} holds NaN or infinite values")


# ---- files written by earlier versions -------------------------------------------------------------------------------

# Parameters that older files carry and this version no longer has, with the value that behaves as this version does.
# A file whose value differs cannot be scored the way it was, and is refused with the version that wrote it.
_REMOVED_NEUTRAL = {
    "SeriesDetector": {"spread": 0},
    "ImageDetector": {},
}
# Removed parameters that never changed what a saved detector computes (training-only options, or state the file
# already holds: min_scale's floor is in the saved scaler; context only re-ranked unflagged steps).
_REMOVED_HARMLESS = {"checkpoint", "precision", "min_scale", "context"}
# Parameters that became fitted state: the file's value moves into its state document.
_MOVED_TO_STATE = {"SeriesDetector": ("smooth", "fold"), "ImageDetector": ()}
# Files written before a parameter existed: the behaviour they were written with.
_LEGACY_DEFAULTS = {
    "SeriesDetector": {"drift": None},
    "ImageDetector": {"transforms": None, "error": "mse", "density": None},
}


def _uses_batch_split(value) -> bool:
    return isinstance(value, dict) and (value.get("name") == "batch_split" or _uses_batch_split(value.get("object")))


def migrate(kind: str, document: dict, path) -> tuple[dict, dict]:
    """The parameters and state of a model file, as this version names them.

    Files written by earlier versions load when what they computed can still be computed; otherwise they get one
    :class:`ModelFileError` naming the version that wrote them and what to do.
    """
    written_by = document.get("reconad_version", "an unknown version")
    params = dict(require(document, "params", dict, path))
    state = dict(require(document, "state", dict, path))
    if _uses_batch_split(params.get("threshold")) or _uses_batch_split(state.get("threshold")):
        raise ModelFileError(f"{path} was written by reconad {written_by} with the batch_split threshold, which "
                             "this version no longer has; refit the detector (reconad fit) with this version")
    for name, neutral in _REMOVED_NEUTRAL.get(kind, {}).items():
        if name in params and params.pop(name) != neutral:
            raise ModelFileError(f"{path} was written by reconad {written_by} with {name}, which this version no "
                                 "longer has; refit the detector (reconad fit) with this version")
    for name in _REMOVED_HARMLESS:
        params.pop(name, None)
    for name in _MOVED_TO_STATE.get(kind, ()):
        if name in params:
            value = params.pop(name)
            if value is not None:
                state.setdefault(name, value)
    return {**_LEGACY_DEFAULTS.get(kind, {}), **params}, state


# ---- bounds on the values a file carries -------------------------------------------------------------------------

MAX_FEATURES = 100_000  # columns of a series model
MAX_SIZE = 1 << 20  # any size argument of a model (hidden_size, latent_dim, window, ...)
MAX_LAYERS = 64  # num_layers of a model
MAX_IMAGE_VALUES = 1 << 24  # C * H * W of one image (4096 x 4096 grey)
_LIMITS = {"num_layers": MAX_LAYERS, "n_features": MAX_FEATURES}


def check_count(value, what: str, lowest: int, highest: int) -> int:
    """``value`` if it is a whole number in ``[lowest, highest]``, else a ValueError naming ``what``.

    A file's numbers are bounded before anything is allocated or looped over: a hostile ``10**9`` is refused
    here, not after hours of work or gigabytes of memory.
    """
    if type(value) is not int or not lowest <= value <= highest:
        raise ValueError(f"its {what} {value!r} is not a whole number in [{lowest:,}, {highest:,}]")
    return value


def check_model_kwargs(kwargs) -> dict:
    """A file's model arguments: a dict whose numbers are whole and within the sizes a model can have."""
    if not isinstance(kwargs, dict):
        raise ValueError(f"its model arguments {kwargs!r} are not an object")
    for name, value in kwargs.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            check_count(value, f"model argument {name}", 1, _LIMITS.get(name, MAX_SIZE))
    return kwargs


def check_statistic(values, n: int, what: str, positive: bool = False) -> np.ndarray:
    """``n`` numbers that stay finite in float32 (the precision they are used in); ``positive``: all > 0."""
    if not (isinstance(values, list) and len(values) == n
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)):
        raise ValueError(f"its {what} is not a list of {n} numbers")
    array = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore"):
        single = array.astype(np.float32)
    if not np.isfinite(single).all():
        raise ValueError(f"its {what} holds values that are not finite in float32 ({array.min():.3g} .. "
                         f"{array.max():.3g})")
    if positive and not (single > 0).all():
        raise ValueError(f"its {what} holds values that are not > 0 (smallest {array.min():.3g}): every feature "
                         "needs a positive scale")
    return array

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

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from reconad.atomic import atomic_write_bytes
from reconad.errors import InputError, ModelFileError

FORMAT = "reconad"
FORMAT_VERSION = 1
_HEADER_LIMIT = 100 * 1024 * 1024  # safetensors itself refuses headers over 100 MB


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
    data = path.read_bytes()
    if len(data) == 0:
        raise ModelFileError(f"{what}: it is empty; save a detector with det.save(path) first")
    if len(data) < 8:
        raise ModelFileError(f"{what}: it is only {len(data)} bytes long (truncated?)")
    (header_size,) = struct.unpack("<Q", data[:8])
    if header_size > min(len(data) - 8, _HEADER_LIMIT):
        raise ModelFileError(f"{what}: it does not start with a safetensors header (foreign or truncated file)")
    try:
        header = json.loads(data[8 : 8 + header_size])
        document = json.loads(header["__metadata__"][FORMAT])
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ModelFileError(f"{what}: its header carries no reconad description ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(f"{what}: its description is not a reconad model")
    version = document.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{what}: it has no valid format_version (a whole number >= 1)")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer reconad (format {version}; this one reads up to {FORMAT_VERSION}); "
            "upgrade reconad to load it"
        )
    try:
        tensors = load_safetensors(data)
    except Exception as exc:  # safetensors raises its own error types for every kind of damage
        raise ModelFileError(f"{path} is damaged: its weights cannot be read ({exc}); save it again") from exc
    return document, tensors


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

"""reconad: reconstruction-based anomaly detection for time series and images, in PyTorch.

The names below are imported on first use, so ``import reconad`` (and the ``reconad`` command's ``--help``) does
not pay for importing PyTorch.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from reconad.errors import InputError, ModelFileError, NotFittedError

try:
    __version__ = _version("reconad")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

_LAZY = {
    "SeriesDetector": "reconad.detectors",
    "ImageDetector": "reconad.detectors",
    "load": "reconad.detectors",
    "build_model": "reconad.models",
    "list_models": "reconad.models",
}

__all__ = ["__version__", "SeriesDetector", "ImageDetector", "load", "build_model", "list_models", "InputError",
           "ModelFileError", "NotFittedError"]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'reconad' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

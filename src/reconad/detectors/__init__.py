"""The estimators users hold: :class:`SeriesDetector`, :class:`ImageDetector`, and :func:`load` for saved ones."""

from __future__ import annotations

import os

from reconad.detectors.base import BaseDetector
from reconad.detectors.image import ImageDetector
from reconad.detectors.series import SeriesDetector
from reconad.errors import ModelFileError
from reconad.persistence import read_model_file, require

DETECTORS: dict[str, type[BaseDetector]] = {"SeriesDetector": SeriesDetector, "ImageDetector": ImageDetector}


def load(path: str | os.PathLike) -> BaseDetector:
    """Load a detector saved with ``save``. Never unpickles: a file that is not a reconad model is refused."""
    document, tensors = read_model_file(path)
    kind = require(document, "detector", str, path)
    if kind not in DETECTORS:
        raise ModelFileError(f"{path} holds an unknown detector type {kind!r}")
    return DETECTORS[kind].from_document(document, tensors, path)


__all__ = ["BaseDetector", "DETECTORS", "ImageDetector", "SeriesDetector", "load"]

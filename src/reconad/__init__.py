"""reconad: reconstruction-based anomaly detection for time series and images, in PyTorch."""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("reconad")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from reconad.detector import ImageDetector, SeriesDetector, load
from reconad.errors import InputError, ModelFileError, NotFittedError
from reconad.models import build_model, list_models

__all__ = [
    "__version__",
    "SeriesDetector",
    "ImageDetector",
    "load",
    "build_model",
    "list_models",
    "InputError",
    "ModelFileError",
    "NotFittedError",
]

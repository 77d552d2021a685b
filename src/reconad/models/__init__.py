"""Model families: plain ``nn.Module`` auto-encoders, built by name from an explicit registry.

The registry (:mod:`reconad.models.registry`) imports no family; the family files are imported here, by name,
and each registers its models when imported.
"""

from reconad.models import conv1d, conv2d, dense, pca, recurrent  # noqa: F401  (each registers its models)
from reconad.models.registry import build_model, get_entry, list_models, register

__all__ = ["build_model", "get_entry", "list_models", "register"]

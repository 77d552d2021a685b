"""Model families: plain ``nn.Module`` auto-encoders, built by name from an explicit registry."""

from reconad.models.registry import build_model, get_entry, list_models, register

__all__ = ["build_model", "get_entry", "list_models", "register"]

"""An explicit registry of model families: ``@register("lstm")``, ``build_model``, ``list_models``.

Each model is a plain ``nn.Module`` whose ``forward(x)`` returns a reconstruction of the same shape. The
registry records its *kind* (``"series"`` models take windows ``(B, W, D)``, ``"image"`` models take images
``(B, C, H, W)``) so that detectors and the registry-wide test know what to feed it.

This module imports no model family: ``reconad.models`` imports each family file once, explicitly, and each
registers itself with :func:`register`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from reconad.errors import InputError

KINDS = ("series", "image")


@dataclass(frozen=True)
class ModelEntry:
    name: str
    kind: str
    factory: Callable[..., nn.Module]
    summary: str
    defaults: dict = field(default_factory=dict)  # detector settings this family is best used with
    closed_form: bool = False  # fitted by its ``fit_windows(batches)`` in one pass instead of the epoch loop


_REGISTRY: dict[str, ModelEntry] = {}


def register(name: str, kind: str, defaults: dict | None = None, closed_form: bool = False) -> Callable:
    """Decorator that adds a model family under ``name``; a second use of a name is an error.

    ``defaults`` are the detector settings the family is meant to be used with when the user leaves them
    unset (``None``), like timm's per-model default configuration, e.g. ``{"smooth": 5}``. ``closed_form``
    marks a family whose modules have a ``fit_windows(batches)`` method that fits them in one pass over the
    training samples (e.g. ``pca``); the training code calls it instead of running epochs of gradient descent.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")

    def decorator(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"a model named {name!r} is already registered ({_REGISTRY[name].factory})")
        doc = (factory.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = ModelEntry(name, kind, factory, doc[0] if doc else "", dict(defaults or {}),
                                     bool(closed_form))
        return factory

    return decorator


def list_models(pattern: str = "*", kind: str | None = None) -> list[str]:
    """Registered model names matching a shell-style ``pattern`` (``"*"``, ``"lstm*"``), optionally of one kind."""
    return sorted(
        name
        for name, entry in _REGISTRY.items()
        if fnmatch.fnmatch(name, pattern) and (kind is None or entry.kind == kind)
    )


def get_entry(name: str) -> ModelEntry:
    if name not in _REGISTRY:
        raise InputError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    return _REGISTRY[name]


def build_model(name: str, **kwargs) -> nn.Module:
    """Build a registered model: ``build_model("lstm", n_features=3, hidden_size=64)``."""
    entry = get_entry(name)
    try:
        return entry.factory(**kwargs)
    except (TypeError, ValueError) as exc:
        raise InputError(f"cannot build model {name!r} with {sorted(kwargs)}: {exc}") from exc

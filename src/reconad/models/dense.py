"""Fully connected auto-encoders: a window model for series (``dense``)."""

from __future__ import annotations

import torch
from torch import nn

from reconad.models.registry import register


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class DenseWindowAutoencoder(nn.Module):
    """Flattens a window ``(B, W, D)``, encodes it through ``num_layers`` hidden layers to ``latent_dim``."""

    def __init__(self, n_features: int, window: int, hidden_size: int = 64, num_layers: int = 1,
                 latent_dim: int = 16):
        super().__init__()
        flat = n_features * window
        hidden = [hidden_size] * num_layers
        self.encoder = _mlp([flat, *hidden, latent_dim])
        self.decoder = _mlp([latent_dim, *hidden, flat])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.relu(self.encoder(x.flatten(1)))  # (B, W * D) -> (B, latent)
        return self.decoder(z).view_as(x)  # (B, latent) -> (B, W, D)


@register("dense", kind="series")
def dense(n_features: int, window: int, hidden_size: int = 64, num_layers: int = 1,
          latent_dim: int | None = None, decoder: str | None = None) -> DenseWindowAutoencoder:
    """Fully connected window auto-encoder."""
    if decoder is not None:
        raise ValueError("dense has no 'decoder' option; leave it None")
    return DenseWindowAutoencoder(n_features, window, hidden_size, num_layers, latent_dim or 16)

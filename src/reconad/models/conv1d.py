"""A 1-D convolutional window auto-encoder: strided convolutions, a linear bottleneck, transposed convolutions."""

from __future__ import annotations

import torch
from torch import nn

from reconad.models.registry import register


class Conv1dAutoencoder(nn.Module):
    def __init__(self, n_features: int, window: int, hidden_size: int = 32, num_layers: int = 2,
                 latent_dim: int = 16):
        super().__init__()
        self.lengths = [window]  # sequence length after each encoder layer: ceil(L / 2)
        for _ in range(num_layers):
            self.lengths.append((self.lengths[-1] + 1) // 2)
        channels = [n_features] + [hidden_size] * num_layers
        self.encoder = nn.ModuleList(
            nn.Conv1d(channels[i], channels[i + 1], kernel_size=5, stride=2, padding=2) for i in range(num_layers)
        )
        flat = hidden_size * self.lengths[-1]
        self.to_latent = nn.Linear(flat, latent_dim)
        self.from_latent = nn.Linear(latent_dim, flat)
        self.decoder = nn.ModuleList(
            nn.ConvTranspose1d(hidden_size, hidden_size, kernel_size=4, stride=2, padding=1)
            for _ in range(num_layers)
        )
        self.head = nn.Conv1d(hidden_size, n_features, kernel_size=3, padding=1)
        self.hidden_size = hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.transpose(1, 2)  # (B, W, D) -> (B, D, W)
        for conv in self.encoder:
            h = torch.relu(conv(h))  # (B, C, ceil(L / 2))
        z = self.to_latent(h.flatten(1))  # (B, latent)
        h = torch.relu(self.from_latent(z)).view(len(x), self.hidden_size, self.lengths[-1])
        for deconv, length in zip(self.decoder, reversed(self.lengths[:-1])):
            h = torch.relu(deconv(h))[..., :length]  # (B, C, 2L) cropped to the encoder's length
        return self.head(h).transpose(1, 2)  # (B, D, W) -> (B, W, D)


@register("conv1d", kind="series", defaults={"smooth": 5})
def conv1d(n_features: int, window: int, hidden_size: int = 32, num_layers: int = 2,
           latent_dim: int | None = None, decoder: str | None = None) -> Conv1dAutoencoder:
    """1-D convolutional window auto-encoder with a linear bottleneck."""
    if decoder is not None:
        raise ValueError("conv1d has no 'decoder' option; leave it None")
    return Conv1dAutoencoder(n_features, window, hidden_size, num_layers, latent_dim or 16)

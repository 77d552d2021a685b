"""Fully connected auto-encoders: a window model for series (``dense``), image models (``mlp``, ``deep``)."""

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


@register("dense", kind="series", defaults={"smooth": 5})
def dense(n_features: int, window: int, hidden_size: int = 64, num_layers: int = 1,
          latent_dim: int | None = None, decoder: str | None = None) -> DenseWindowAutoencoder:
    """Fully connected window auto-encoder."""
    if decoder is not None:
        raise ValueError("dense has no 'decoder' option; leave it None")
    return DenseWindowAutoencoder(n_features, window, hidden_size, num_layers, latent_dim or 16)


# ---- images ------------------------------------------------------------------------------------------------


def _halving_widths(first: int, latent_dim: int, count: int) -> list[int]:
    """``count`` hidden widths that halve from ``first`` (512, 256, 128, ...), never below ``latent_dim``."""
    return [max(first >> i, latent_dim) for i in range(count)]


class ImageMLPAutoencoder(nn.Module):
    """Flattens an image ``(B, C, H, W)``; ReLU layers down to ``latent_dim``, a mirrored decoder, a Sigmoid.

    ``hidden`` lists the widths between the pixels and the latent code: empty is the one-layer auto-encoder
    ``C*H*W -> latent -> C*H*W``; ``[512, 256, 128]`` makes a deep one. The Sigmoid keeps the output in
    [0, 1], the range of the pixels.
    """

    def __init__(self, in_channels: int, height: int, width: int, latent_dim: int, hidden: list[int]):
        super().__init__()
        pixels = in_channels * height * width
        sizes = [pixels, *hidden, latent_dim]
        encoder: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            encoder += [nn.Linear(a, b), nn.ReLU()]
        decoder: list[nn.Module] = []
        reverse = sizes[::-1]
        for i, (a, b) in enumerate(zip(reverse[:-1], reverse[1:], strict=True)):
            decoder += [nn.Linear(a, b), nn.Sigmoid() if i == len(reverse) - 2 else nn.ReLU()]
        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))  # (B, C * H * W) -> (B, latent)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x)).view_as(x)  # (B, latent) -> (B, C, H, W)


class LinearCodeMLPAutoencoder(nn.Module):
    """Flattens an image ``(B, C, H, W)``; LeakyReLU(0.1) layers of ``hidden`` widths down to a *linear* code of
    ``latent_dim`` numbers, a mirrored decoder and a Sigmoid.

    Unlike :class:`ImageMLPAutoencoder` the code has no activation: no unit of it can die, and distances between
    codes (the latent density of ``ImageDetector(density="knn")``) use every direction.
    """

    def __init__(self, in_channels: int, height: int, width: int, latent_dim: int, hidden: list[int]):
        super().__init__()
        pixels = in_channels * height * width
        down, up = [pixels, *hidden, latent_dim], [latent_dim, *hidden[::-1], pixels]
        self.encoder = self._stack(down)
        self.decoder = nn.Sequential(*self._stack(up), nn.Sigmoid())

    @staticmethod
    def _stack(sizes: list[int]) -> nn.Sequential:
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(nn.LeakyReLU(0.1))
        return nn.Sequential(*layers)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))  # (B, C * H * W) -> (B, latent)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x)).view_as(x)  # (B, latent) -> (B, C, H, W)


@register("mlp", kind="image")
def mlp(in_channels: int, height: int, width: int, latent_dim: int | None = None,
        hidden_size: int | None = None, num_layers: int | None = None) -> ImageMLPAutoencoder:
    """One-layer image auto-encoder: pixels -> latent (ReLU) -> pixels (Sigmoid), the slides' first model."""
    return ImageMLPAutoencoder(in_channels, height, width, latent_dim or 64, hidden=[])


@register("deep", kind="image")
def deep(in_channels: int, height: int, width: int, latent_dim: int | None = None,
         hidden_size: int | None = None, num_layers: int | None = None) -> ImageMLPAutoencoder:
    """Deep image auto-encoder: ``num_layers`` ReLU layers halving from ``hidden_size`` (512) to latent."""
    # The encoder has ``num_layers`` Linear + ReLU layers: widths 512, 256, ... then the latent code (4 layers:
    # pixels -> 512 -> 256 -> 128 -> latent), and the decoder mirrors it. At latent 4 some seeds end with a
    # ROC-AUC near 0.955 instead of 0.985 (the ReLU'd 4-number code partly dies); the slides' own loop does the
    # same, so 3-seed means move by about 0.01 (benchmarks/results/mnist_seed_spread.md).
    num_layers = 4 if num_layers is None else num_layers
    if num_layers < 1:
        raise ValueError(f"num_layers must be at least 1, got {num_layers}")
    latent_dim = latent_dim or 64
    hidden = _halving_widths(hidden_size or 512, latent_dim, num_layers - 1)
    return ImageMLPAutoencoder(in_channels, height, width, latent_dim, hidden)


@register("deep-lrelu", kind="image")
def deep_lrelu(in_channels: int, height: int, width: int, latent_dim: int | None = None,
               hidden_size: int | None = None, num_layers: int | None = None) -> LinearCodeMLPAutoencoder:
    """Deep image auto-encoder, LeakyReLU and a linear code: pixels -> 512 -> 256 -> 64 (ImageDetector's default)."""
    num_layers = 3 if num_layers is None else num_layers
    if num_layers < 1:
        raise ValueError(f"num_layers must be at least 1, got {num_layers}")
    latent_dim = latent_dim or 64
    return LinearCodeMLPAutoencoder(in_channels, height, width, latent_dim,
                                    _halving_widths(hidden_size or 512, latent_dim, num_layers - 1))

"""A 2-D convolutional image auto-encoder: strided convolutions, linear bottleneck, transposed convs."""

from __future__ import annotations

import torch
from torch import nn

from reconad.models.registry import register


class Conv2dAutoencoder(nn.Module):
    """Images ``(B, C, H, W)`` of any size -> ``latent_dim`` numbers -> images of exactly the same size.

    The encoder has ``num_layers`` stride-2 convolutions (3x3, padding 1), each halving the height and width
    (rounding up) and doubling the channels from ``hidden_size``; a linear layer maps the last feature map to
    the latent code. The decoder mirrors it: a linear layer back to the feature map, then stride-2 transposed
    convolutions that double the size, each cropped to the size its encoder layer saw (so odd sizes such as
    7x7 or 28x28 -> 14 -> 7 -> 4 come back exactly), and a Sigmoid for pixels in [0, 1].
    """

    def __init__(self, in_channels: int, height: int, width: int, latent_dim: int = 32, hidden_size: int = 32,
                 num_layers: int = 2):
        super().__init__()
        self.num_layers = num_layers  # the depth built (saved, so a file rebuilds the same model)
        self.sizes = [(height, width)]  # spatial size before each encoder layer, and after the last
        for _ in range(num_layers):
            h, w = self.sizes[-1]
            self.sizes.append(((h + 1) // 2, (w + 1) // 2))
        channels = [in_channels] + [hidden_size * 2**i for i in range(num_layers)]
        self.encoder = nn.ModuleList(
            nn.Conv2d(channels[i], channels[i + 1], kernel_size=3, stride=2, padding=1)
            for i in range(num_layers)
        )
        self.map_shape = (channels[-1], *self.sizes[-1])
        flat = channels[-1] * self.sizes[-1][0] * self.sizes[-1][1]
        self.to_latent = nn.Linear(flat, latent_dim)
        self.from_latent = nn.Linear(latent_dim, flat)
        self.decoder = nn.ModuleList(
            nn.ConvTranspose2d(channels[i + 1], channels[i], kernel_size=3, stride=2, padding=1,
                               output_padding=1)
            for i in reversed(range(num_layers))
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for conv in self.encoder:
            h = torch.relu(conv(h))  # (B, C, H, W) -> (B, 2C, ceil(H / 2), ceil(W / 2))
        return self.to_latent(h.flatten(1))  # (B, C' * H' * W') -> (B, latent)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encode(x)  # (B, latent)
        h = torch.relu(self.from_latent(z)).view(len(x), *self.map_shape)  # (B, C', H', W')
        last = len(self.decoder) - 1
        sizes = reversed(self.sizes[:-1])
        for i, (deconv, (height, width)) in enumerate(zip(self.decoder, sizes, strict=True)):
            h = deconv(h)[..., :height, :width]  # (B, C, 2H, 2W) cropped to the encoder layer's input size
            h = torch.sigmoid(h) if i == last else torch.relu(h)
        return h  # (B, C, H, W)


def default_layers(height: int, width: int, smallest: int = 8) -> int:
    """The conv family's default depth: halve the image until its shorter side is at most ``smallest`` pixels,
    with at least 2 and at most 5 stride-2 layers, so the bottleneck sees the whole image at any size (28x28 and
    8x8: 2 layers, as before; 64x64: 3, the last map 8x8; 256x256: 5)."""
    side, layers = min(height, width), 0
    while side > smallest and layers < 5:
        side, layers = (side + 1) // 2, layers + 1
    return max(2, layers)


@register("conv", kind="image")
def conv(in_channels: int, height: int, width: int, latent_dim: int | None = None,
         hidden_size: int | None = None, num_layers: int | None = None) -> Conv2dAutoencoder:
    """Convolutional image auto-encoder with a linear bottleneck (the slides' ConvAutoEncoder); its depth grows
    with the image (:func:`default_layers`) unless ``num_layers`` is given."""
    # 32 -> 64 channels: with it the slides' grid matches the reference numbers at latent 64 and 4 (16 -> 32
    # channels gave 0.795 instead of 0.815 for normal {1..5} at latent 64; see benchmarks/results/mnist_course.md)
    return Conv2dAutoencoder(in_channels, height, width, latent_dim or 32, hidden_size or 32,
                             num_layers or default_layers(height, width))


class BatchNormConvAutoencoder(nn.Module):
    """Images ``(B, C, H, W)`` of any size -> ``latent_dim`` numbers -> images of the same size, with BatchNorm.

    A 3x3 convolution at full resolution (``hidden_size`` channels), then ``num_layers`` 4x4 stride-2
    convolutions, each halving the height and width (rounding down) and doubling the channels from the second
    on; every convolution is followed by BatchNorm and LeakyReLU(0.1). A linear layer maps the last feature map
    to the latent code. The decoder mirrors it with 4x4 stride-2 transposed convolutions (an output padding of 1
    where the encoder's input was odd, so 7x7 or 28x28 come back exactly) and a last 3x3 convolution with a
    Sigmoid for pixels in [0, 1]. BatchNorm makes the code well scaled, which deep restoration training needs.
    """

    def __init__(self, in_channels: int, height: int, width: int, latent_dim: int = 32, hidden_size: int = 32,
                 num_layers: int = 2):
        super().__init__()
        self.num_layers = num_layers  # the depth built (saved, so a file rebuilds the same model)
        self.sizes = [(height, width)]  # spatial size before each stride-2 layer, and after the last
        for _ in range(num_layers):
            h, w = self.sizes[-1]
            if h < 2 or w < 2:
                raise ValueError(f"{height}x{width} images are too small for {num_layers} halving layers")
            self.sizes.append((h // 2, w // 2))
        channels = [hidden_size] + [hidden_size * 2 ** max(i, 0) for i in range(num_layers)]  # 32, 32, 64, ...

        def block(conv: nn.Module, out: int) -> nn.Sequential:
            return nn.Sequential(conv, nn.BatchNorm2d(out), nn.LeakyReLU(0.1))

        self.stem = block(nn.Conv2d(in_channels, channels[0], 3, 1, 1), channels[0])
        self.encoder = nn.Sequential(*(
            block(nn.Conv2d(channels[i], channels[i + 1], 4, 2, 1), channels[i + 1]) for i in range(num_layers)
        ))
        self.map_shape = (channels[-1], *self.sizes[-1])
        flat = channels[-1] * self.sizes[-1][0] * self.sizes[-1][1]
        self.to_latent = nn.Linear(flat, latent_dim)
        self.from_latent = nn.Sequential(nn.Linear(latent_dim, flat))
        self.lift = nn.Sequential(nn.BatchNorm2d(channels[-1]), nn.LeakyReLU(0.1))
        decoder = []
        for i in reversed(range(num_layers)):
            (h_in, w_in), (h_out, w_out) = self.sizes[i + 1], self.sizes[i]
            padding = (h_out - 2 * h_in, w_out - 2 * w_in)  # 1 where the encoder's input was odd
            decoder.append(block(nn.ConvTranspose2d(channels[i + 1], channels[i], 4, 2, 1, output_padding=padding),
                                 channels[i]))
        self.decoder = nn.Sequential(*decoder)
        self.head = nn.Conv2d(channels[0], in_channels, 3, 1, 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_latent(self.encoder(self.stem(x)).flatten(1))  # (B, C, H, W) -> (B, latent)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encode(x)  # (B, latent)
        h = self.lift(self.from_latent(z).view(len(x), *self.map_shape))  # (B, C', H', W')
        return torch.sigmoid(self.head(self.decoder(h)))  # (B, C, H, W)


@register("conv-bn", kind="image")
def conv_bn(in_channels: int, height: int, width: int, latent_dim: int | None = None,
            hidden_size: int | None = None, num_layers: int | None = None) -> BatchNormConvAutoencoder:
    """Convolutional image auto-encoder with BatchNorm and LeakyReLU; its depth grows with the image
    (:func:`default_layers`) unless ``num_layers`` is given."""
    return BatchNormConvAutoencoder(in_channels, height, width, latent_dim or 32, hidden_size or 32,
                                    num_layers or default_layers(height, width))

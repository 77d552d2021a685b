"""Restoration training and sharper image errors: what makes a reconstruction a better one-class detector.

**Restoration.** A plain auto-encoder learns to copy; one trained to *undo* a transformation must learn what the
normal images look like the right way up. With ``transforms="rotate"`` every training image is shown turned by a
random quarter turn (half turns only, for images that are not square) and the target is the image itself. An
image is scored by restoring it from every turn and averaging the errors: a normal image comes back upright, an
anomaly (another kind of image) is "restored" towards the normal class and errs. This is the idea of the
inverse-transform / attribute-restoration auto-encoders (Huang et al. 2019; Ye et al. 2020), reduced to
rotations.

**Blurred error.** The mean squared error adds up pixel errors wherever they are, so many small scattered errors
(a stroke a little thicker, a little aside) weigh as much as one missing or extra part of the shape.
``error="blur"`` smooths the absolute error map with a Gaussian of one pixel before squaring: errors that cluster
reinforce each other and scattered ones fade.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

TRANSFORMS = ("rotate", None)
ERRORS = ("blur", "mse")
BLUR_SIGMA = 1.0  # pixels


def turns(height: int, width: int, transforms: str | None) -> list[int]:
    """The quarter turns used: 0..3 for square images, 0 and 2 for others, [0] without transforms."""
    if transforms is None:
        return [0]
    return [0, 1, 2, 3] if height == width else [0, 2]


def turn(x: torch.Tensor, k: int) -> torch.Tensor:
    """Images ``(B, C, H, W)`` turned by ``k`` quarter turns."""
    return torch.rot90(x, k, dims=(2, 3)) if k % 4 else x


def random_turns(x: torch.Tensor, options: list[int]) -> torch.Tensor:
    """Each image of ``x`` ``(B, C, H, W)`` turned by one of ``options``, drawn from torch's global generator."""
    if options == [0]:
        return x
    draw = torch.randint(len(options), (len(x),))
    out = torch.empty_like(x)
    for i, k in enumerate(options):
        chosen = (draw == i).nonzero().flatten()
        if len(chosen):
            out[chosen] = turn(x[chosen], k)
    return out


def _gaussian_kernel(sigma: float, device, dtype) -> torch.Tensor:
    radius = max(1, int(round(3 * sigma)))
    offsets = torch.arange(-radius, radius + 1, device=device, dtype=dtype)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def error_map(x_hat: torch.Tensor, x: torch.Tensor, error: str) -> torch.Tensor:
    """Per-pixel error ``(B, C, H, W)`` of a reconstruction: squared (``"mse"``) or blurred then squared."""
    if error == "mse":
        return (x_hat - x) ** 2
    diff = (x_hat - x).abs()
    batch, channels, height, width = diff.shape
    kernel = _gaussian_kernel(BLUR_SIGMA, diff.device, diff.dtype)
    radius = len(kernel) // 2
    flat = diff.reshape(batch * channels, 1, height, width)
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1))  # along W
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="replicate"), kernel.view(1, 1, -1, 1))  # along H
    return flat.reshape(batch, channels, height, width) ** 2

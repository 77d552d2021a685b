"""What makes a reconstruction a sharper image detector: error measures, latent density, restoration training.

**Cosine error.** ``error="cosine"`` (the default) compares the image and its reconstruction, both blurred by a
Gaussian (one pixel at 28x28: ``BLUR_SIGMA`` of the shorter side), by their cosine distance
``1 - cos(blur(x), blur(x_hat))``: it ignores how much ink an image has (a faint digit and a bold one
reconstructed as faithfully count the same) and forgives a stroke a little aside, so what is left is the *shape*
the model could not reproduce. Its error map is ``P * (u - v)**2 / 2`` with ``u``, ``v`` the two blurred images
scaled to unit length and ``P`` the number of pixels, so the map's mean is the distance.

**Latent density.** An anomaly may be reconstructed well enough and still be encoded where no normal image is.
``density="knn"`` keeps the codes of the training images and measures, for a new image, the mean cosine
distance of its code to its ``KNN_K`` nearest training codes. Both terms are standardised with their mean and
standard deviation on the held-out calibration images and added: one score, higher = more anomalous.

**Restoration.** A plain auto-encoder learns to copy; one trained to *undo* a transformation must learn what the
normal images look like the right way up. With ``transforms="rotate"`` every training image is shown turned by a
random quarter turn (half turns only, for images that are not square) and the target is the image itself. An
image is scored by restoring it from every turn and averaging the errors: a normal image comes back upright, an
anomaly (another kind of image) is "restored" towards the normal class and errs. This is the idea of the
inverse-transform / attribute-restoration auto-encoders (Huang et al. 2019; Ye et al. 2020), reduced to
rotations.

**Blurred error.** The mean squared error adds up pixel errors wherever they are, so many small scattered errors
(a stroke a little thicker, a little aside) weigh as much as one missing or extra part of the shape.
``error="blur"`` smooths the absolute error map with the same Gaussian before squaring: errors that cluster
reinforce each other and scattered ones fade.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

TRANSFORMS = ("rotate", None)
ERRORS = ("cosine", "blur", "mse")
DENSITIES = ("knn", None)
BLUR_SIGMA = 1 / 28  # of the image's shorter side: one pixel at MNIST's 28x28
KNN_K = 5  # neighbours of the latent density


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


def blur(x: torch.Tensor, sigma: float | None = None) -> torch.Tensor:
    """Each channel of images ``(B, C, H, W)`` smoothed by a Gaussian of ``sigma`` pixels (borders replicated);
    by default ``BLUR_SIGMA`` of the shorter side: one pixel at 28x28, a third of one at 8x8, two at 56x56."""
    batch, channels, height, width = x.shape
    sigma = BLUR_SIGMA * min(height, width) if sigma is None else sigma
    kernel = _gaussian_kernel(sigma, x.device, x.dtype)
    radius = len(kernel) // 2
    flat = x.reshape(batch * channels, 1, height, width)
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1))  # along W
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="replicate"), kernel.view(1, 1, -1, 1))  # along H
    return flat.reshape(batch, channels, height, width)


def error_map(x_hat: torch.Tensor, x: torch.Tensor, error: str) -> torch.Tensor:
    """Per-pixel error ``(B, C, H, W)`` of a reconstruction; its per-image mean is the image's error.

    ``"mse"``: squared; ``"blur"``: absolute, blurred, squared; ``"cosine"``: the cosine distance of the blurred
    images, spread over the pixels (see the module's notes).
    """
    if error == "mse":
        return (x_hat - x) ** 2
    if error == "blur":
        return blur((x_hat - x).abs()) ** 2
    u, v = _unit(blur(x)), _unit(blur(x_hat))
    return (u - v) ** 2 * (0.5 * u[0].numel())


def _unit(images: torch.Tensor) -> torch.Tensor:
    norm = images.flatten(1).norm(dim=1).clamp_min(1e-12)  # (B,); an empty image stays all zeros
    return images / norm.view(-1, *([1] * (images.ndim - 1)))


def knn_distance(codes: torch.Tensor, memory: torch.Tensor, k: int = KNN_K, skip_self: bool = False) -> torch.Tensor:
    """Mean cosine distance ``(B,)`` of each code ``(B, L)`` to its ``k`` nearest codes in ``memory`` ``(N, L)``.

    ``skip_self`` drops each code's nearest match: for the codes of ``memory`` itself (leave one out).
    Queries run in chunks, so memory use is ``O(chunk * N)``, not ``O(B * N)``.
    """
    memory = F.normalize(memory, dim=1)
    k_eff = min(k + int(skip_self), len(memory))
    out = []
    for part in codes.split(256):
        distance = 1 - F.normalize(part, dim=1) @ memory.T  # (b, N)
        nearest = distance.topk(k_eff, dim=1, largest=False).values  # (b, k), ascending
        out.append((nearest[:, 1:] if skip_self and k_eff > 1 else nearest).mean(dim=1))
    return torch.cat(out)

"""A linear window auto-encoder fitted in closed form (``pca``): principal components of the training windows.

Why a user wants it: subsequence PCA is the strongest detector by mean VUS-PR on TSB-AD's univariate benchmark, it
fits in one pass over the windows (no epochs, no learning rate, no seed to worry about) and it is the fast yardstick
every neural family should beat. It keeps the registry's contract, ``forward(x) -> x_hat`` on windows ``(B, W, D)``,
so the scorer, explanations, streaming, saving and the service use it unchanged; its fitted state lives in frozen
parameters (no gradient), which safetensors saves like any weights.

It is fitted by :meth:`LinearWindowAutoencoder.fit_windows`, which the training code calls instead of the epoch
loop because the registry entry says ``closed_form=True``.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from reconad.models.registry import register

MAX_FLAT = 8192  # window * features: the fit keeps a square covariance of this side (512 MB in float64)
VARIANCE = 0.95  # the share of the standardised windows' variance the kept components explain


class LinearWindowAutoencoder(nn.Module):
    """Flattens a window ``(B, W, D)`` to ``W * D`` numbers, standardises each one, projects onto the leading
    principal components of the training windows and maps back: ``x_hat = centre + spread * (z P) P^T``.

    ``components`` ``(W * D, max_components)`` holds the kept components as columns; columns past the number the
    fit kept (``n_components``) are zero, so the weights' shapes depend only on the constructor's arguments and a
    saved model loads into a freshly built one. Unfitted, every column is zero and the model returns the centre.
    """

    def __init__(self, n_features: int, window: int, max_components: int, variance: float = VARIANCE):
        super().__init__()
        flat = n_features * window
        if flat > MAX_FLAT:
            raise ValueError(f"pca keeps a square covariance of window * features = {flat} numbers a side, more than "
                             f"{MAX_FLAT}; use a shorter window or fewer features")
        if not 0 < variance <= 1:
            raise ValueError(f"variance must be in (0, 1], got {variance!r}")
        self.variance = float(variance)
        # Frozen parameters rather than buffers: they are this model's weights (saved, moved, counted like any
        # model's), and code that finds a model's device from its first parameter works unchanged.
        self.centre = nn.Parameter(torch.zeros(flat), requires_grad=False)
        self.spread = nn.Parameter(torch.ones(flat), requires_grad=False)
        self.components = nn.Parameter(torch.zeros(flat, min(max_components, flat)), requires_grad=False)

    @property
    def n_components(self) -> int:
        """How many components the fit kept (the non-zero columns of ``components``)."""
        return int((self.components.abs().sum(dim=0) > 0).sum())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x.flatten(1) - self.centre) / self.spread  # (B, W * D), standardised per position
        code = z @ self.components  # (B, max_components): zero past n_components
        return (code @ self.components.T * self.spread + self.centre).view_as(x)  # (B, W, D)

    @torch.no_grad()
    def fit_windows(self, batches: Iterable[torch.Tensor]) -> LinearWindowAutoencoder:
        """Fit the centre, spread and components from batches of training windows ``(B, W, D)``, in one pass.

        Accumulates the sums and the cross-product of the flattened windows in float64, standardises the covariance
        into a correlation matrix and keeps its leading eigenvectors: the fewest that explain ``variance`` of the
        variance, at most ``max_components``. Equivalent to an SVD of the standardised window matrix, without holding
        the windows in memory.
        """
        flat = self.centre.numel()
        count, total = 0, torch.zeros(flat, dtype=torch.float64, device=self.centre.device)
        cross = torch.zeros(flat, flat, dtype=torch.float64, device=self.centre.device)
        for batch in batches:
            rows = batch.flatten(1).to(torch.float64)
            count += len(rows)
            total += rows.sum(dim=0)
            cross += rows.T @ rows
        if count < 2:
            raise ValueError(f"pca needs at least 2 training windows, got {count}")
        mean = total / count
        covariance = (cross - count * torch.outer(mean, mean)) / (count - 1)
        spread = covariance.diagonal().clamp(min=0).sqrt()
        spread = torch.where(spread > 1e-12 * max(1.0, float(spread.max())), spread, torch.ones_like(spread))
        correlation = covariance / torch.outer(spread, spread)
        values, vectors = torch.linalg.eigh((correlation + correlation.T) / 2)  # ascending
        values, vectors = values.flip(0).clamp(min=0), vectors.flip(1)
        kept = 0
        if values.sum() > 0:
            explained = values.cumsum(0) / values.sum()
            kept = int(torch.searchsorted(explained, torch.tensor(self.variance, dtype=torch.float64,
                                                                   device=explained.device))) + 1
        kept = min(kept, self.components.shape[1])
        components = torch.zeros_like(self.components)
        components[:, :kept] = vectors[:, :kept].to(components.dtype)
        self.centre.copy_(mean)
        self.spread.copy_(spread)
        self.components.copy_(components)
        return self


@register("pca", kind="series", defaults={"smooth": 5}, closed_form=True)
def pca(n_features: int, window: int, hidden_size: int | None = None, num_layers: int | None = None,
        latent_dim: int | None = None, decoder: str | None = None,
        variance: float = VARIANCE) -> LinearWindowAutoencoder:
    """Linear window auto-encoder fitted in closed form (principal components of the standardised windows)."""
    # hidden_size and num_layers have no meaning for a linear map; they are accepted so that SeriesDetector's
    # shared parameters build every family. latent_dim caps the number of components (default: half of W * D).
    if decoder is not None:
        raise ValueError("pca has no 'decoder' option; leave it None")
    cap = latent_dim if latent_dim is not None else max(1, n_features * window // 2)
    return LinearWindowAutoencoder(n_features, window, cap, variance)

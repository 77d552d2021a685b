"""A wrapper that makes a series model blind to the level of the features that drift.

Not a registered family: :class:`~reconad.SeriesDetector` puts it around any series model when its
training data has drifting features (``drift="auto"``), so every scoring path (batch, streaming, Dask, explain)
sees the same module, and the mask travels with the weights as a buffer.
"""

from __future__ import annotations

import torch
from torch import nn


class LevelFree(nn.Module):
    """Runs ``inner`` on windows whose drifting features are centred on their own window mean, then adds it back.

    ``drifting`` is a 0/1 vector ``(D,)``. For a drifting feature (a temperature that creeps up all day) the
    model only sees, and is only judged on, how the feature moves *within* the window, not where its level
    is; steady features are passed through unchanged. Since the level is added back, ``x_hat - x`` is the
    inner model's error on the centred window, and ``x_hat`` is still a reconstruction in the input's units.
    """

    def __init__(self, inner: nn.Module, drifting: torch.Tensor):
        super().__init__()
        self.inner = inner
        self.register_buffer("drifting", torch.as_tensor(drifting, dtype=torch.float32).reshape(-1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, W, D) -> (B, W, D)
        level = x.mean(dim=1, keepdim=True) * self.drifting.to(x.dtype)  # (B, 1, D): 0 for steady features
        return self.inner(x - level) + level

    def fit_windows(self, batches):
        """Fit a closed-form ``inner`` model (``pca``) on the windows as it will see them: drifting features centred."""
        drifting = self.drifting

        def centred():
            for batch in batches:
                yield batch - batch.mean(dim=1, keepdim=True) * drifting.to(batch.dtype)

        self.inner.fit_windows(centred())
        return self

"""Sequence auto-encoders built from ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU``.

The encoder reads a window ``(B, W, D)``; its final hidden state (optionally squeezed through a linear
bottleneck of ``latent_dim``) starts the decoder, which emits the window again. Two decoders:

- ``"autoregressive"`` (the course notebook's): the decoder starts from a zero input and, at every step,
  takes its own previous output as the next input; a linear head maps the hidden state to the features.
- ``"repeat"``: the encoder's top-layer final hidden state is fed as the input at every step, so the decoder
  runs as one fused call (much faster, no feedback loop).
"""

from __future__ import annotations

import torch
from torch import nn

from reconad.models.registry import register

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
DECODERS = ("autoregressive", "repeat")


class RecurrentAutoencoder(nn.Module):
    def __init__(
        self,
        n_features: int,
        hidden_size: int = 64,
        num_layers: int = 1,
        decoder: str = "repeat",
        latent_dim: int | None = None,
        cell: str = "lstm",
    ):
        super().__init__()
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {tuple(CELLS)}, got {cell!r}")
        rnn = CELLS[cell]
        self.decoder_kind = decoder
        # Creation order (encoder, decoder, head) matches the notebook, so a seed gives its initial weights.
        self.encoder = rnn(n_features, hidden_size, num_layers, batch_first=True)
        decoder_input = n_features if decoder == "autoregressive" else hidden_size
        self.decoder = rnn(decoder_input, hidden_size, num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, n_features)
        self.bottleneck = (
            nn.Sequential(nn.Linear(hidden_size, latent_dim), nn.Tanh(), nn.Linear(latent_dim, hidden_size))
            if latent_dim
            else None
        )

    def _squeeze(self, state):
        if self.bottleneck is None:
            return state
        if isinstance(state, tuple):  # LSTM: (h, c), each (L, B, H)
            return tuple(self.bottleneck(s) for s in state)
        return self.bottleneck(state)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, n_features = x.shape  # (B, W, D)
        _, state = self.encoder(x)  # state: (L, B, H), or a pair of them for LSTM
        state = self._squeeze(state)
        if self.decoder_kind == "repeat":
            top = (state[0] if isinstance(state, tuple) else state)[-1]  # (B, H)
            inputs = top.unsqueeze(1).expand(batch, length, top.shape[-1])  # (B, W, H)
            out, _ = self.decoder(inputs, state)  # (B, W, H)
            return self.head(out)  # (B, W, D)
        step = x.new_zeros(batch, 1, n_features)  # (B, 1, D): the first decoder input is zero
        outputs = []
        for _ in range(length):
            out, state = self.decoder(step, state)  # (B, 1, H)
            step = self.head(out)  # (B, 1, D), fed back as the next input
            outputs.append(step)
        return torch.cat(outputs, dim=1)  # (B, W, D)


def _factory(cell: str):
    def build(
        n_features: int,
        window: int | None = None,
        hidden_size: int = 64,
        num_layers: int = 1,
        latent_dim: int | None = None,
        decoder: str | None = None,
    ) -> RecurrentAutoencoder:
        del window  # recurrent models take windows of any length
        return RecurrentAutoencoder(n_features, hidden_size, num_layers, decoder or "repeat", latent_dim, cell)

    build.__doc__ = f"{cell.upper()} sequence auto-encoder (decoder 'repeat' or 'autoregressive')."
    return build


for _cell in CELLS:
    register(_cell, kind="series")(_factory(_cell))

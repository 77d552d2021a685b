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
        self.cell = cell
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
        return self.decode_autoregressive(state, length)

    def decode_autoregressive_reference(self, state, length: int) -> torch.Tensor:
        """The straightforward decoder: one ``nn.RNN`` call per step (the notebook's way; kept for tests)."""
        h = state[0] if isinstance(state, tuple) else state
        step = h.new_zeros(h.shape[1], 1, self.head.out_features)  # (B, 1, D): the first input is zero
        outputs = []
        for _ in range(length):
            out, state = self.decoder(step, state)  # (B, 1, H)
            step = self.head(out)  # (B, 1, D), fed back as the next input
            outputs.append(step)
        return torch.cat(outputs, dim=1)  # (B, W, D)

    def decode_autoregressive(self, state, length: int) -> torch.Tensor:
        """The same computation as the reference, written as fused cell steps (about 2x faster on a CPU).

        Feeding the output back means layer 0's input at step t is ``head(h_top[t-1])``; its input projection
        is folded into one weight ``W_ih0 @ W_head`` so a step needs no head call. The weights are transposed
        and the biases summed once per call, so one layer's step is two ``addmm`` and the activations: the
        autograd graph holds a third of the reference's nodes. The head is applied once, at the end, to all
        top-layer states.
        """
        dec, head = self.decoder, self.head
        layers = dec.num_layers
        if isinstance(state, tuple):  # LSTM
            h, c = list(state[0].unbind(0)), list(state[1].unbind(0))
        else:
            h, c = list(state.unbind(0)), None
        w_ih = [getattr(dec, f"weight_ih_l{k}") for k in range(layers)]
        b_ih = [getattr(dec, f"bias_ih_l{k}") for k in range(layers)]
        b_hh = [getattr(dec, f"bias_hh_l{k}") for k in range(layers)]
        w_h = [getattr(dec, f"weight_hh_l{k}").t() for k in range(layers)]  # (H, G) each
        # layer 0 reads the fed-back output head(h_top): W_ih0 (W_head h + b_head) + b_ih0
        w_x = [(w_ih[0] @ head.weight).t()] + [w.t() for w in w_ih[1:]]  # (H, G) each
        b_x = [b_ih[0] + w_ih[0] @ head.bias] + b_ih[1:]  # (G,) each
        gru = self.cell == "gru"  # GRU keeps the h part's bias apart: its candidate uses r * (W_hn h + b_hn)
        bias = b_x if gru else [b + b_h for b, b_h in zip(b_x, b_hh, strict=True)]
        first = b_ih[0] if gru else b_ih[0] + b_hh[0]  # layer 0's bias at step 0, whose input is zero
        if self.cell == "rnn":  # forward and backward by hand: no autograd bookkeeping inside the loop
            tops = _TanhDecoder.apply(length, torch.stack(h), first, *w_x, *w_h, *bias)  # (B, W, H)
            return head(tops)
        if self.cell == "lstm":
            tops = _LSTMDecoder.apply(length, torch.stack(h), torch.stack(c), first, *w_x, *w_h, *bias)
            return head(tops)
        tops = []
        for t in range(length):
            for k in range(layers):
                if k == 0:
                    gx = torch.addmm(bias[0], tops[-1], w_x[0]) if t else first.expand(h[0].shape[0], -1)
                else:
                    gx = torch.addmm(bias[k], h[k - 1], w_x[k])  # (B, G)
                h[k], c_k = self._cell(gx, h[k], w_h[k], b_hh[k], None if c is None else c[k])
                if c is not None:
                    c[k] = c_k
            tops.append(h[-1])
        return head(torch.stack(tops, dim=1))  # (B, W, H) -> (B, W, D)

    def _cell(self, gx, h, w_h, b_h, c):
        """One step of one layer from its input's gate pre-activations ``gx`` ``(B, G)``. Returns (h, c)."""
        if self.cell == "gru":
            gh = torch.addmm(b_h, h, w_h)
            r_x, z_x, n_x = gx.chunk(3, 1)
            r_h, z_h, n_h = gh.chunk(3, 1)
            r, z = torch.sigmoid(r_x + r_h), torch.sigmoid(z_x + z_h)
            n = torch.tanh(n_x + r * n_h)
            return (1 - z) * n + z * h, None
        gates = torch.addmm(gx, h, w_h)  # (B, G): the biases are already in gx
        if self.cell == "rnn":
            return torch.tanh(gates), None
        i, f, g, o = gates.chunk(4, 1)  # LSTM
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


class _TanhDecoder(torch.autograd.Function):
    """The autoregressive tanh-RNN decoder's loop with a hand-written backward pass (truncated nowhere: full BPTT).

    Inputs: ``length``; ``h0`` ``(L, B, H)``; ``first`` ``(H,)``, layer 0's pre-activation at step 0 (zero
    input); then per layer the input weights ``w_x`` ``(H_in, H)`` (layer 0's reads the previous top state),
    the recurrent weights ``w_h`` ``(H, H)`` and the summed biases ``bias`` ``(H,)``. Output: the top layer's
    states ``(B, W, H)``. The forward pass writes every state into one buffer; the backward pass walks it in
    reverse with two matrix products per layer and step, and forms the weight gradients afterwards as one
    product per weight over all steps. Gradients match autograd's on the same function (tests).
    """

    @staticmethod
    def forward(ctx, length: int, h0, first, *params):
        layers, batch, hidden = h0.shape
        w_x, w_h, bias = params[:layers], params[layers : 2 * layers], params[2 * layers :]
        hs = h0.new_empty(length, layers, batch, hidden)  # every state, (W, L, B, H)
        for t in range(length):
            for k in range(layers):
                if k > 0:
                    pre = torch.addmm(bias[k], hs[t, k - 1], w_x[k])
                elif t > 0:
                    pre = torch.addmm(bias[0], hs[t - 1, -1], w_x[0])
                else:
                    pre = first.expand(batch, hidden)
                torch.tanh(torch.addmm(pre, hs[t - 1, k] if t else h0[k], w_h[k]), out=hs[t, k])
        ctx.save_for_backward(h0, hs, *w_x, *w_h)
        return hs[:, -1].transpose(0, 1).contiguous()  # (B, W, H)

    @staticmethod
    def backward(ctx, grad_tops):
        h0, hs, *weights = ctx.saved_tensors
        length, layers, batch, hidden = hs.shape
        w_x_t = [w.t() for w in weights[:layers]]
        w_h_t = [w.t() for w in weights[layers:]]
        derivative = 1 - hs * hs  # tanh' at every state, (W, L, B, H)
        grad_pre = torch.empty_like(hs)  # d loss / d pre-activation, (W, L, B, H)
        grad_tops = grad_tops.transpose(0, 1)  # (W, B, H)
        for t in reversed(range(length)):
            for k in reversed(range(layers)):
                if k == layers - 1:
                    g = grad_tops[t]
                    if t + 1 < length:  # the next step's layer 0 read this state as its input
                        g = torch.addmm(g, grad_pre[t + 1, 0], w_x_t[0])
                else:
                    g = grad_pre[t, k + 1] @ w_x_t[k + 1]
                if t + 1 < length:
                    g = torch.addmm(g, grad_pre[t + 1, k], w_h_t[k])
                torch.mul(g, derivative[t, k], out=grad_pre[t, k])

        def flat(x):
            return x.reshape(-1, hidden)

        grad_w_x, grad_w_h, grad_bias = [], [], []
        for k in range(layers):
            previous = torch.cat([h0[k : k + 1], hs[:-1, k]])  # the state each step started from, (W, B, H)
            grad_w_h.append(flat(previous).t() @ flat(grad_pre[:, k]))
            if k == 0:
                grad_w_x.append(flat(hs[:-1, -1]).t() @ flat(grad_pre[1:, 0]))
                grad_bias.append(grad_pre[1:, 0].sum((0, 1)))
            else:
                grad_w_x.append(flat(hs[:, k - 1]).t() @ flat(grad_pre[:, k]))
                grad_bias.append(grad_pre[:, k].sum((0, 1)))
        grad_h0 = torch.stack([grad_pre[0, k] @ w_h_t[k] for k in range(layers)])
        grad_first = grad_pre[0, 0].sum(0)
        return None, grad_h0, grad_first, *grad_w_x, *grad_w_h, *grad_bias


class _LSTMDecoder(torch.autograd.Function):
    """The autoregressive LSTM decoder's loop with a hand-written backward pass, like :class:`_TanhDecoder`.

    Inputs: ``length``; ``h0``, ``c0`` ``(L, B, H)``; ``first`` ``(4H,)``; per layer ``w_x`` ``(H_in, 4H)``,
    ``w_h`` ``(H, 4H)`` and the summed biases ``(4H,)``. Gates in PyTorch's order: input, forget, cell, output.
    """

    @staticmethod
    def forward(ctx, length: int, h0, c0, first, *params):
        layers, batch, hidden = h0.shape
        w_x, w_h, bias = params[:layers], params[layers : 2 * layers], params[2 * layers :]
        hs = h0.new_empty(length, layers, batch, hidden)  # (W, L, B, H)
        cs = h0.new_empty(length, layers, batch, hidden)
        gates = h0.new_empty(length, layers, batch, 4 * hidden)  # activated: sigmoid i, f, o and tanh g
        for t in range(length):
            for k in range(layers):
                if k > 0:
                    pre = torch.addmm(bias[k], hs[t, k - 1], w_x[k])
                elif t > 0:
                    pre = torch.addmm(bias[0], hs[t - 1, -1], w_x[0])
                else:
                    pre = first.expand(batch, 4 * hidden)
                pre = torch.addmm(pre, hs[t - 1, k] if t else h0[k], w_h[k])  # (B, 4H)
                act = gates[t, k]
                torch.sigmoid(pre, out=act)
                torch.tanh(pre[:, 2 * hidden : 3 * hidden], out=act[:, 2 * hidden : 3 * hidden])
                i, f, g, o = act.chunk(4, 1)
                torch.addcmul(i * g, f, cs[t - 1, k] if t else c0[k], out=cs[t, k])
                torch.mul(o, torch.tanh(cs[t, k]), out=hs[t, k])
        ctx.save_for_backward(h0, c0, hs, cs, gates, *w_x, *w_h)
        return hs[:, -1].transpose(0, 1).contiguous()  # (B, W, H)

    @staticmethod
    def backward(ctx, grad_tops):
        h0, c0, hs, cs, gates, *weights = ctx.saved_tensors
        length, layers, batch, hidden = hs.shape
        w_x_t = [w.t() for w in weights[:layers]]
        w_h_t = [w.t() for w in weights[layers:]]
        tanh_c = torch.tanh(cs)
        grad_pre = torch.empty_like(gates)  # (W, L, B, 4H)
        grad_c = [torch.zeros_like(h0[0]) for _ in range(layers)]  # d loss / d c carried back in time
        grad_tops = grad_tops.transpose(0, 1)  # (W, B, H)
        for t in reversed(range(length)):
            for k in reversed(range(layers)):
                if k == layers - 1:
                    g_h = grad_tops[t]
                    if t + 1 < length:  # the next step's layer 0 read this state as its input
                        g_h = torch.addmm(g_h, grad_pre[t + 1, 0], w_x_t[0])
                else:
                    g_h = grad_pre[t, k + 1] @ w_x_t[k + 1]
                if t + 1 < length:
                    g_h = torch.addmm(g_h, grad_pre[t + 1, k], w_h_t[k])
                i, f, g, o = gates[t, k].chunk(4, 1)
                c_prev = cs[t - 1, k] if t else c0[k]
                g_c = torch.addcmul(grad_c[k], g_h, o * (1 - tanh_c[t, k] ** 2))
                d_i, d_f, d_g, d_o = grad_pre[t, k].chunk(4, 1)
                torch.mul(g_c * g, i * (1 - i), out=d_i)
                torch.mul(g_c * c_prev, f * (1 - f), out=d_f)
                torch.mul(g_c * i, 1 - g * g, out=d_g)
                torch.mul(g_h * tanh_c[t, k], o * (1 - o), out=d_o)
                grad_c[k] = g_c * f

        def flat(x, width):
            return x.reshape(-1, width)

        grad_w_x, grad_w_h, grad_bias = [], [], []
        four = 4 * hidden
        for k in range(layers):
            previous = torch.cat([h0[k : k + 1], hs[:-1, k]])  # (W, B, H)
            grad_w_h.append(flat(previous, hidden).t() @ flat(grad_pre[:, k], four))
            if k == 0:
                grad_w_x.append(flat(hs[:-1, -1], hidden).t() @ flat(grad_pre[1:, 0], four))
                grad_bias.append(grad_pre[1:, 0].sum((0, 1)))
            else:
                grad_w_x.append(flat(hs[:, k - 1], hidden).t() @ flat(grad_pre[:, k], four))
                grad_bias.append(grad_pre[:, k].sum((0, 1)))
        grad_h0 = torch.stack([grad_pre[0, k] @ w_h_t[k] for k in range(layers)])
        grad_c0 = torch.stack(grad_c)
        grad_first = grad_pre[0, 0].sum(0)
        return None, grad_h0, grad_c0, grad_first, *grad_w_x, *grad_w_h, *grad_bias


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

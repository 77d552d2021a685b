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
        """The same computation as the reference, with the step loop and its backward pass written by hand.

        Feeding the output back means layer 0's input at step t is ``head(h_top[t-1])``; its input projection
        is folded into one weight ``W_ih0 @ W_head`` so a step needs no head call. The weights are transposed
        and the biases summed once per call; the loop runs inside one ``torch.autograd.Function`` per cell type
        (:class:`_TanhDecoder`, :class:`_LSTMDecoder`, :class:`_GRUDecoder`) whose backward pass walks the
        stored states in reverse, with no autograd bookkeeping per step. The head is applied once, at the end,
        to all top-layer states. Outputs and gradients match the reference (tests, including gradcheck).
        """
        dec, head = self.decoder, self.head
        layers = dec.num_layers
        h = state[0] if isinstance(state, tuple) else state  # (L, B, H)
        w_ih = [getattr(dec, f"weight_ih_l{k}") for k in range(layers)]
        b_ih = [getattr(dec, f"bias_ih_l{k}") for k in range(layers)]
        b_hh = [getattr(dec, f"bias_hh_l{k}") for k in range(layers)]
        w_h = [getattr(dec, f"weight_hh_l{k}").t() for k in range(layers)]  # (H, G) each
        # layer 0 reads the fed-back output head(h_top): W_ih0 (W_head h + b_head) + b_ih0
        w_x = [(w_ih[0] @ head.weight).t()] + [w.t() for w in w_ih[1:]]  # (H, G) each
        b_x = [b_ih[0] + w_ih[0] @ head.bias] + b_ih[1:]  # (G,) each
        if self.cell == "gru":  # the h part's bias stays apart: the candidate uses r * (W_hn h + b_hn)
            tops = _GRUDecoder.apply(length, h, b_ih[0], *w_x, *w_h, *b_x, *b_hh)  # (B, W, H)
        else:
            bias = [b + b_h for b, b_h in zip(b_x, b_hh, strict=True)]
            first = b_ih[0] + b_hh[0]  # layer 0's bias at step 0, whose input is zero
            if self.cell == "lstm":
                tops = _LSTMDecoder.apply(length, h, state[1], first, *w_x, *w_h, *bias)
            else:
                tops = _TanhDecoder.apply(length, h, first, *w_x, *w_h, *bias)
        return head(tops)  # (B, W, H) -> (B, W, D)


def _input_part(t: int, k: int, hs, w_x, bias, first, batch: int) -> torch.Tensor:
    """Layer ``k``'s pre-activation from its input at step ``t`` ``(B, G)``: the layer below's new state, for
    layer 0 the previous step's top state (the fed-back output), and ``first`` at step 0 (a zero input)."""
    if k > 0:
        return torch.addmm(bias[k], hs[t, k - 1], w_x[k])
    if t > 0:
        return torch.addmm(bias[0], hs[t - 1, -1], w_x[0])
    return first.expand(batch, -1)


def _state_grad(t: int, k: int, grad_tops, grad_in, w_x_t) -> torch.Tensor:
    """d loss / d h[t, k] through what read the state as *input*: the layer above at step t, or for the top
    layer the output and the next step's layer 0 (``grad_in``: d loss / d input pre-activations)."""
    length, layers = grad_in.shape[:2]
    if k < layers - 1:
        return grad_in[t, k + 1] @ w_x_t[k + 1]
    if t + 1 < length:
        return torch.addmm(grad_tops[t], grad_in[t + 1, 0], w_x_t[0])
    return grad_tops[t]


def _weight_grads(h0, hs, grad_in, grad_rec):
    """Gradients of every layer's ``w_x``, ``w_h``, input bias and recurrent bias, one product over all steps.

    ``grad_in`` / ``grad_rec``: d loss / d the input / recurrent pre-activations ``(W, L, B, G)`` (the same
    tensor for RNN and LSTM). Layer 0's input weights and bias saw a real input from step 1 on only.
    """
    hidden, width = hs.shape[-1], grad_in.shape[-1]
    grad_w_x, grad_w_h, grad_b_x, grad_b_h = [], [], [], []
    for k in range(hs.shape[1]):
        previous = torch.cat([h0[k : k + 1], hs[:-1, k]])  # the state each step started from, (W, B, H)
        grad_w_h.append(previous.reshape(-1, hidden).t() @ grad_rec[:, k].reshape(-1, width))
        grad_b_h.append(grad_rec[:, k].sum((0, 1)))
        inputs, grads = (hs[:-1, -1], grad_in[1:, 0]) if k == 0 else (hs[:, k - 1], grad_in[:, k])
        grad_w_x.append(inputs.reshape(-1, hidden).t() @ grads.reshape(-1, width))
        grad_b_x.append(grads.sum((0, 1)))
    return grad_w_x, grad_w_h, grad_b_x, grad_b_h


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
                pre = _input_part(t, k, hs, w_x, bias, first, batch)
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
                g = _state_grad(t, k, grad_tops, grad_pre, w_x_t)
                if t + 1 < length:
                    g = torch.addmm(g, grad_pre[t + 1, k], w_h_t[k])
                torch.mul(g, derivative[t, k], out=grad_pre[t, k])

        grad_w_x, grad_w_h, grad_bias, _ = _weight_grads(h0, hs, grad_pre, grad_pre)
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
                pre = _input_part(t, k, hs, w_x, bias, first, batch)
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
                g_h = _state_grad(t, k, grad_tops, grad_pre, w_x_t)
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

        grad_w_x, grad_w_h, grad_bias, _ = _weight_grads(h0, hs, grad_pre, grad_pre)
        grad_h0 = torch.stack([grad_pre[0, k] @ w_h_t[k] for k in range(layers)])
        grad_c0 = torch.stack(grad_c)
        grad_first = grad_pre[0, 0].sum(0)
        return None, grad_h0, grad_c0, grad_first, *grad_w_x, *grad_w_h, *grad_bias


class _GRUDecoder(torch.autograd.Function):
    """The autoregressive GRU decoder's loop with a hand-written backward pass, like :class:`_TanhDecoder`.

    Inputs: ``length``; ``h0`` ``(L, B, H)``; ``first`` ``(3H,)``; per layer ``w_x`` ``(H_in, 3H)``, ``w_h``
    ``(H, 3H)``, the input biases ``(3H,)`` and the recurrent biases ``(3H,)`` (kept apart: the candidate reads
    ``r * (W_hn h + b_hn)``). Gates in PyTorch's order: reset, update, candidate.
    """

    @staticmethod
    def forward(ctx, length: int, h0, first, *params):
        layers, batch, hidden = h0.shape
        w_x, w_h = params[:layers], params[layers : 2 * layers]
        b_x, b_h = params[2 * layers : 3 * layers], params[3 * layers :]
        hs = h0.new_empty(length, layers, batch, hidden)  # (W, L, B, H)
        rzn = h0.new_empty(length, layers, batch, 3 * hidden)  # r, z, n after their activations
        hn = h0.new_empty(length, layers, batch, hidden)  # W_hn h + b_hn, which the reset gate scales
        for t in range(length):
            for k in range(layers):
                gx = _input_part(t, k, hs, w_x, b_x, first, batch)
                h_prev = hs[t - 1, k] if t else h0[k]
                gh = torch.addmm(b_h[k], h_prev, w_h[k])  # (B, 3H)
                act = rzn[t, k]
                torch.sigmoid(gx[:, : 2 * hidden] + gh[:, : 2 * hidden], out=act[:, : 2 * hidden])
                r, z = act[:, :hidden], act[:, hidden : 2 * hidden]
                hn[t, k] = gh[:, 2 * hidden :]
                torch.tanh(torch.addcmul(gx[:, 2 * hidden :], r, hn[t, k]), out=act[:, 2 * hidden :])
                n = act[:, 2 * hidden :]
                torch.addcmul(n, z, h_prev - n, out=hs[t, k])  # (1 - z) n + z h
        ctx.save_for_backward(h0, hs, rzn, hn, *w_x, *w_h)
        return hs[:, -1].transpose(0, 1).contiguous()  # (B, W, H)

    @staticmethod
    def backward(ctx, grad_tops):
        h0, hs, rzn, hn, *weights = ctx.saved_tensors
        length, layers, batch, hidden = hs.shape
        w_x_t = [w.t() for w in weights[:layers]]
        w_h_t = [w.t() for w in weights[layers:]]
        grad_x = torch.empty_like(rzn)  # d loss / d (x W_x + b_x), (W, L, B, 3H)
        grad_h = torch.empty_like(rzn)  # d loss / d (h W_h + b_h)
        carry = [None] * layers  # d loss / d h_prev through the update gate's z * h term, from step t + 1
        grad_tops = grad_tops.transpose(0, 1)  # (W, B, H)
        for t in reversed(range(length)):
            for k in reversed(range(layers)):
                g = _state_grad(t, k, grad_tops, grad_x, w_x_t)
                if t + 1 < length:
                    g = torch.addmm(g + carry[k], grad_h[t + 1, k], w_h_t[k])
                r, z, n = rzn[t, k].chunk(3, 1)
                h_prev = hs[t - 1, k] if t else h0[k]
                d_n = g * (1 - z) * (1 - n * n)  # through tanh
                d_r = d_n * hn[t, k] * r * (1 - r)
                d_z = g * (h_prev - n) * z * (1 - z)
                gx_r, gx_z, gx_n = grad_x[t, k].chunk(3, 1)
                gh_r, gh_z, gh_n = grad_h[t, k].chunk(3, 1)
                gx_r.copy_(d_r), gh_r.copy_(d_r)
                gx_z.copy_(d_z), gh_z.copy_(d_z)
                gx_n.copy_(d_n)
                torch.mul(d_n, r, out=gh_n)
                carry[k] = g * z

        grad_w_x, grad_w_h, grad_b_x, grad_b_h = _weight_grads(h0, hs, grad_x, grad_h)
        grad_h0 = torch.stack([torch.addmm(carry[k], grad_h[0, k], w_h_t[k]) for k in range(layers)])
        grad_first = grad_x[0, 0].sum(0)
        return None, grad_h0, grad_first, *grad_w_x, *grad_w_h, *grad_b_x, *grad_b_h


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

import pytest
import torch

from reconad.errors import InputError
from reconad.models import build_model, get_entry, list_models, register


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_reconstructs_with_gradients(name):
    torch.manual_seed(0)
    kind = get_entry(name).kind
    if kind == "series":
        model = build_model(name, n_features=3, window=12, hidden_size=8, num_layers=2, latent_dim=4)
        x = torch.randn(5, 12, 3)  # (B, W, D)
    else:
        model = build_model(name, in_channels=1, height=8, width=8, latent_dim=4, hidden_size=16, num_layers=2)
        x = torch.rand(5, 1, 8, 8)  # (B, C, H, W)
        assert model.encode(x).shape == (5, 4)  # the code the latent density of ImageDetector reads
    if get_entry(name).closed_form:  # fitted in one pass, no gradients: it must reproduce what it was fitted on
        low_rank = torch.randn(40, 2) @ torch.randn(2, 12 * 3)  # windows spanning a 2-dim subspace
        model.fit_windows([low_rank[:25].view(25, 12, 3), low_rank[25:].view(15, 12, 3)])
        x = low_rank[:5].view(5, 12, 3)
        torch.testing.assert_close(model(x), x, rtol=1e-4, atol=1e-4)
        assert not any(p.requires_grad for p in model.parameters())
        return
    x_hat = model(x)
    assert x_hat.shape == x.shape
    assert torch.isfinite(x_hat).all()
    ((x_hat - x) ** 2).mean().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, f"{name}: no gradient reaches {pname}"


def test_notebook_rnn_has_the_notebooks_parameter_count():
    model = build_model("rnn", n_features=1, hidden_size=32, num_layers=2, decoder="autoregressive")
    # encoder 2-layer RNN(1 -> 32): 1120 + 2112, decoder the same, linear head 32 -> 1: 33
    assert sum(p.numel() for p in model.parameters()) == 2 * (1120 + 2112) + 33


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(InputError, match="known models: .*lstm"):
        build_model("transformerish", n_features=1)


def test_list_models_filters_by_pattern_and_kind():
    assert list_models("*ru") == ["gru"]
    assert set(list_models(kind="series")) >= {"rnn", "lstm", "gru", "conv1d", "dense", "pca"}


def test_a_name_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="already registered"):
        register("lstm", kind="series")(lambda **kw: None)


def test_bad_model_arguments_are_input_errors():
    with pytest.raises(InputError, match="decoder"):
        build_model("lstm", n_features=1, decoder="sideways")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_fused_autoregressive_decoder_equals_the_per_step_reference(cell, num_layers):
    torch.manual_seed(1)
    model = build_model(cell, n_features=3, hidden_size=16, num_layers=num_layers, decoder="autoregressive")
    x = torch.randn(4, 25, 3)
    _, state = model.encoder(x)
    fused = model.decode_autoregressive(state, 25)
    reference = model.decode_autoregressive_reference(state, 25)
    torch.testing.assert_close(fused, reference, rtol=1e-5, atol=1e-6)
    grads = []
    for out in (fused, reference):
        model.zero_grad()
        ((out - x) ** 2).mean().backward(retain_graph=True)
        grads.append([p.grad.clone() for p in model.parameters()])
    for g_fused, g_ref in zip(*grads):
        torch.testing.assert_close(g_fused, g_ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("length", [1, 4])
def test_hand_written_decoder_backward_passes_gradcheck(cell, layers, length):
    """Each cell's hand-written BPTT against finite differences, in double precision."""
    from reconad.models.recurrent import _GRUDecoder, _LSTMDecoder, _TanhDecoder

    gates = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    generator = torch.Generator().manual_seed(layers * 10 + length)

    def rand(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.double, requires_grad=True)

    states = [rand(layers, 3, 5) for _ in range(2 if cell == "lstm" else 1)]  # h0 (and c0)
    biases = 2 * layers if cell == "gru" else layers  # the GRU keeps input and recurrent biases apart
    params = [rand(5, 5 * gates) for _ in range(2 * layers)] + [rand(5 * gates) for _ in range(biases)]
    function = {"rnn": _TanhDecoder, "lstm": _LSTMDecoder, "gru": _GRUDecoder}[cell]
    assert torch.autograd.gradcheck(lambda *a: function.apply(length, *a), (*states, rand(5 * gates), *params))


def test_epoch_order_is_a_shuffling_dataloaders_order():
    """reconad's batches are the ones a plain PyTorch loop with a shuffling DataLoader would see."""
    from torch.utils.data import DataLoader

    from reconad.training import epoch_order

    torch.manual_seed(5)
    loader = DataLoader(range(50), batch_size=50, shuffle=True)
    expected = [next(iter(loader)).numpy() for _ in range(3)]
    torch.manual_seed(5)
    for want in expected:
        assert epoch_order(50).tolist() == want.tolist()

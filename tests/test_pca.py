"""The closed-form ``pca`` family: components chosen by explained variance, exact reconstructions, one-pass fit."""

import time

import numpy as np
import pytest
import torch

import reconad
from reconad import SeriesDetector
from reconad.models import build_model


def _orthogonal_columns() -> np.ndarray:
    """Four flattened positions: a, a, b, c with a, b, c orthogonal, zero-mean and of equal norm (Hadamard rows).

    Their correlation matrix has eigenvalues 2, 1, 1, 0 exactly, so the kept variance shares are 0.5, 0.75, 1.
    """
    a = np.array([1, -1, 1, -1, 1, -1, 1, -1], float)
    b = np.array([1, 1, -1, -1, 1, 1, -1, -1], float)
    c = np.array([1, -1, -1, 1, 1, -1, -1, 1], float)
    return np.stack([a, a, b, c], axis=1) * np.array([1.0, 3.0, 0.5, 2.0]) + np.array([5.0, -1.0, 0.0, 2.0])


@pytest.mark.parametrize(("variance", "expected"), [(0.4, 1), (0.5, 1), (0.7, 2), (0.95, 3), (1.0, 3)])
def test_components_are_the_fewest_that_explain_the_variance(variance, expected):
    rows = torch.tensor(_orthogonal_columns(), dtype=torch.float32).view(8, 2, 2)  # 8 windows, W=2, D=2; no cap
    model = build_model("pca", n_features=2, window=2, latent_dim=4, variance=variance).fit_windows([rows])
    assert model.n_components == expected


def test_cap_on_components_is_latent_dim():
    rows = torch.tensor(_orthogonal_columns(), dtype=torch.float32).view(8, 2, 2)
    model = build_model("pca", n_features=2, window=2, latent_dim=1).fit_windows([rows])
    assert model.components.shape == (4, 1) and model.n_components == 1


def test_reconstruction_is_the_projection_an_svd_of_the_standardised_windows_gives():
    rng = np.random.default_rng(0)
    mixing = rng.standard_normal((3, 10)) * np.linspace(0.5, 4.0, 10)  # 3 hidden signals, positions scaled apart
    windows = (rng.standard_normal((300, 3)) @ mixing + 0.05 * rng.standard_normal((300, 10)) + 3.0).reshape(300, 5, 2)
    flat = windows.reshape(300, -1)
    mean, std = flat.mean(0), flat.std(0, ddof=1)
    z = (flat - mean) / std
    _, singular, vt = np.linalg.svd(z, full_matrices=False)
    share = np.cumsum(singular**2) / np.sum(singular**2)
    k = int(np.argmax(share >= 0.95)) + 1
    expected = (z @ vt[:k].T @ vt[:k]) * std + mean
    model = build_model("pca", n_features=2, window=5, latent_dim=10)  # no cap
    tensor = torch.tensor(windows, dtype=torch.float32)
    model.fit_windows([tensor[:100], tensor[100:]])  # two batches: the sums must add up across them
    assert model.n_components == k <= 4  # about the 3 hidden signals
    np.testing.assert_allclose(model(tensor).numpy().reshape(300, -1), expected, rtol=1e-4, atol=1e-4)


def test_a_constant_position_is_reconstructed_as_its_constant():
    rows = torch.randn(50, 3, 2)
    rows[:, :, 1] = 7.0
    model = build_model("pca", n_features=2, window=3, latent_dim=1).fit_windows([rows])
    out = model(rows)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[:, :, 1], torch.full((50, 3), 7.0))


def test_too_large_a_window_is_one_input_error():
    with pytest.raises(reconad.InputError, match="shorter window or fewer features"):
        build_model("pca", n_features=100, window=100)


def _series(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.stack([np.sin(2 * np.pi * t / 40), np.cos(2 * np.pi * t / 25)], 1) + 0.05 * rng.standard_normal((n, 2))


def test_series_detector_fits_pca_in_one_pass_finds_a_spike_and_saves(tmp_path):
    train, test = _series(1200), _series(800, seed=1)
    test[500:505, 1] += 3.0
    began = time.perf_counter()
    detector = SeriesDetector("pca", window=50, epochs=50, verbose=False, random_state=0).fit(train)
    assert time.perf_counter() - began < 5  # no epochs ran: 50 of them would take far longer
    assert len(detector.history_) == 1 and detector.best_epoch_ == 1
    scores = detector.anomaly_score(test)
    assert 495 <= int(np.argmax(scores)) <= 510
    assert detector.explain(test)[502].argmax() == 1  # the feature that jumped drives the score
    path = tmp_path / "pca.reconad"
    detector.save(path)
    loaded = reconad.load(path)
    np.testing.assert_allclose(loaded.anomaly_score(test), scores, rtol=1e-6)
    assert loaded.model_.n_components == detector.model_.n_components


def test_pca_with_a_drifting_feature_is_fitted_on_centred_windows():
    train = _series(1500)
    train[:, 0] += np.linspace(0, 20, 1500)  # feature 0 drifts: the model must see it centred per window
    detector = SeriesDetector("pca", window=40, drift=[0], verbose=False, random_state=0).fit(train)
    inner = detector.model_.inner
    # centred on each window's mean, feature 0's mean position in every window is about 0, not the level of ~8
    assert abs(float(inner.centre.view(40, 2)[:, 0].mean())) < 0.05
    assert detector.history_[0]["train_loss"] < 0.05


def test_validation_metrics_are_recorded_for_the_one_closed_form_fit():
    train, test = _series(1000), _series(600, seed=2)
    labels = np.zeros(600, int)
    test[300:304, 0] += 4.0
    labels[300:304] = 1
    detector = SeriesDetector("pca", window=40, verbose=False).fit(train, validation=(test, labels))
    (record,) = detector.history_
    assert record["epoch"] == 1 and detector.best_epoch_ == 1
    assert record["val_auprc"] > 0.5 and record["val_roc_auc"] > 0.9

import numpy as np
import pytest
import torch
from sklearn.base import clone

import reconad
from reconad import ImageDetector, InputError, NotFittedError
from reconad.data import load_digits_images

FAST = dict(latent_dim=8, epochs=2, batch_size=32, verbose=False)



@pytest.fixture(scope="module")
def digits():
    images, labels = load_digits_images()
    normal = images[:1200][labels[:1200] != 0]  # train on every digit but 0
    test = images[1200:]
    return normal, test, (labels[1200:] == 0).astype(int)


@pytest.fixture(scope="module")
def fitted(digits):
    return ImageDetector("conv", random_state=0, **FAST).fit(digits[0])


def test_fit_returns_self_and_every_output_has_its_shape(digits):
    normal, test, _ = digits
    det = ImageDetector("mlp", random_state=0, **FAST)
    assert det.fit(normal[:, 0]) is det  # (N, H, W) is one channel
    assert det.image_shape_ == (1, 8, 8)
    scores = det.anomaly_score(test)
    assert scores.shape == (len(test),) and np.isfinite(scores).all()
    labels = det.predict(test)
    assert labels.shape == (len(test),) and set(np.unique(labels)) <= {0, 1}
    recon = det.reconstruct(test[:5])
    assert recon.shape == (5, 1, 8, 8) and recon.min() >= 0 and recon.max() <= 1
    assert det.error_map(test[:5]).shape == (5, 8, 8)  # one map per image
    assert det.error_map(test[:5], per_channel=True).shape == (5, 1, 8, 8)
    assert "held-out" in det.threshold_source_ and f"{round(0.1 * len(normal))} of" in det.threshold_source_


def test_error_map_mean_is_the_anomaly_score_without_density(digits):
    normal, test, _ = digits
    for error in ("mse", "blur", "cosine"):
        det = ImageDetector("conv", error=error, density=None, random_state=0, **FAST).fit(normal)
        scores = det.anomaly_score(test)
        np.testing.assert_allclose(det.error_map(test).mean(axis=(1, 2)), scores, rtol=1e-5)
        assert (scores >= 0).all()


def test_density_score_by_hand(digits):
    """score = (error - mean) / std + (knn - mean) / std, the statistics from the held-out calibration images."""
    normal, test, _ = digits
    det = ImageDetector(random_state=0, **FAST).fit(normal)
    assert det.density == "knn" and det.error == "cosine"
    error = det.error_map(test).mean(axis=(1, 2))
    with torch.no_grad():
        codes = det.model_.encode(torch.from_numpy(test)).numpy().astype(np.float64)
    memory = det.memory_.numpy().astype(np.float64)
    n_cal = round(len(normal) * det.calibration_split)
    assert len(memory) == len(normal) - n_cal  # the codes of the images the model trained on

    def unit(a):
        return a / np.linalg.norm(a, axis=1, keepdims=True)

    knn = np.sort(1 - unit(codes) @ unit(memory).T, axis=1)[:, :5].mean(axis=1)
    (e_mean, e_std), (k_mean, k_std) = det.score_stats_["error"], det.score_stats_["density"]
    np.testing.assert_allclose(det.anomaly_score(test), (error - e_mean) / e_std + (knn - k_mean) / k_std,
                               rtol=1e-4, atol=1e-4)
    cal_scores = det.calibration_scores_  # the held-out images' scores: standardised on them, so their mean is ~0
    assert len(cal_scores) == n_cal and abs(cal_scores.mean()) < 1e-3
    assert det.predict(normal).mean() < 0.1  # their 0.99 quantile is the threshold


def test_calibration_split_zero_uses_training_scores_and_says_so(digits):
    det = ImageDetector("mlp", calibration_split=0, random_state=0, **FAST).fit(digits[0])
    assert "calibration_split=0" in det.threshold_source_
    assert det.predict(digits[0]).mean() == pytest.approx(0.01, abs=0.01)  # the 0.99 quantile of its own scores


def test_multichannel_and_odd_sizes():
    rng = np.random.default_rng(0)
    images = rng.random((40, 3, 7, 9), dtype=np.float32)
    for model in ("mlp", "deep", "conv"):
        det = ImageDetector(model, latent_dim=4, epochs=1, verbose=False, random_state=0).fit(images)
        assert det.reconstruct(images[:2]).shape == (2, 3, 7, 9)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((10, 64)), r"shape \(N, H, W\) or \(N, C, H, W\)"),
        (np.zeros((0, 8, 8)), "empty"),
        (np.full((10, 8, 8), 16.0), "divide by 255"),
        (np.full((10, 8, 8), np.nan), "NaN"),
    ],
)
def test_bad_training_images_get_one_clear_error(bad, message):
    with pytest.raises(InputError, match=message):
        ImageDetector("mlp", **FAST).fit(bad)


@pytest.mark.parametrize(
    "params, fit_kwargs, message",
    [
        (dict(model="lstm"), {}, "series model"),
        (dict(model="nope"), {}, "known models"),
        (dict(calibration_split=1.5), {}, "calibration_split"),
        ({}, dict(track={"val": (np.zeros((4, 8, 8)), [0, 1, 0, 1])}), "reserved for validation"),
        ({}, dict(track={"test": np.zeros((4, 8, 8))}), "pair"),
        ({}, dict(track={"test": (np.zeros((4, 8, 8)), [1, 1, 1, 1])}), "both 0"),
        (dict(latent_dim=0), {}, "latent_dim"),
        (dict(epochs=0), {}, "epochs"),
        ({}, dict(validation=(np.zeros((4, 8, 8)), [0, 0, 0, 0])), "both 0"),
        ({}, dict(validation=(np.zeros((4, 8, 8)), [0, 1])), "one value per image"),
        ({}, dict(validation=(np.zeros((4, 9, 9)), [0, 1, 0, 1])), "resize"),
        ({}, dict(validation=np.zeros((4, 8, 8))), "pair"),
    ],
)
def test_bad_parameters_and_validation_are_reported_at_fit(digits, params, fit_kwargs, message):
    det = ImageDetector(**{**dict(model="mlp", **FAST), **params})
    with pytest.raises(InputError, match=message):
        det.fit(digits[0][:50], **fit_kwargs)


def test_bad_scoring_input_and_unfitted_detector(fitted):
    with pytest.raises(InputError, match="resize"):
        fitted.anomaly_score(np.zeros((2, 1, 28, 28)))
    with pytest.raises(InputError, match="resize"):
        fitted.anomaly_score(np.zeros((2, 3, 8, 8)))
    with pytest.raises(InputError, match="divide by 255"):
        fitted.anomaly_score(np.full((2, 8, 8), 200.0))
    fresh = ImageDetector()
    for method in (fresh.anomaly_score, fresh.predict, fresh.error_map, fresh.reconstruct):
        with pytest.raises(NotFittedError, match="not fitted"):
            method(np.zeros((1, 8, 8)))
    with pytest.raises(NotFittedError):
        fresh.summary()


def test_validation_history_has_one_record_per_epoch(digits):
    normal, test, labels = digits
    det = ImageDetector("mlp", random_state=0, **{**FAST, "epochs": 3})
    det.fit(normal, validation=(test, labels), track={"test": (test[::-1], labels[::-1])})
    assert [h["epoch"] for h in det.history_] == [1, 2, 3]
    for record in det.history_:
        for key in ("train_loss", "val_roc_auc", "val_auprc", "val_normal_score", "val_anomaly_score",
                    "test_roc_auc"):
            assert np.isfinite(record[key]), key
        assert record["test_roc_auc"] == pytest.approx(record["val_roc_auc"])  # same images, reversed
    best = max(det.history_, key=lambda h: h["val_roc_auc"])["epoch"]
    assert det.best_epoch_ == best  # validation chooses the epoch
    assert det.history_[-1]["train_loss"] < det.history_[0]["train_loss"]


def test_track_records_without_choosing_the_epoch(digits):
    normal, test, labels = digits
    common = dict(model="mlp", random_state=0, **{**FAST, "epochs": 3})
    det = ImageDetector(**common).fit(normal, track={"test": (test, labels)})
    assert [h["epoch"] for h in det.history_] == [1, 2, 3]
    assert all(np.isfinite(h["test_roc_auc"]) for h in det.history_)
    assert not any(k.startswith("val_") for h in det.history_ for k in h)
    assert det.best_epoch_ == 3  # the last epoch
    plain = ImageDetector(**common).fit(normal)
    np.testing.assert_array_equal(det.anomaly_score(test), plain.anomaly_score(test))  # tracking changes nothing


def test_removed_parameters_are_gone():
    for name in ("checkpoint", "precision"):
        assert name not in ImageDetector().get_params()
        with pytest.raises(TypeError):
            ImageDetector(**{name: "best"})


def test_validation_keeps_a_real_copy_of_the_best_epoch(digits):
    normal, test, _ = digits
    # A validation set on which learning hurts: "anomalies" are training-like images, so ROC-AUC falls as
    # the model learns them and the best epoch comes before the last.
    val_images = np.concatenate([normal[:100], test[:100]])
    val_labels = np.r_[np.ones(100, int), np.zeros(100, int)]
    common = dict(model="mlp", latent_dim=8, batch_size=64, random_state=3, verbose=False, error="mse", density=None)
    best = ImageDetector(epochs=6, **common).fit(normal, validation=(val_images, val_labels))
    k = best.best_epoch_
    assert k < 6, best.history_
    assert best.history_[k - 1]["val_roc_auc"] == max(h["val_roc_auc"] for h in best.history_)
    # the same seed trained for exactly k epochs holds the weights validation kept from epoch k
    at_k = ImageDetector(epochs=k, **common).fit(normal).model_.state_dict()
    last = ImageDetector(epochs=6, **common).fit(normal).model_.state_dict()
    restored = best.model_.state_dict()
    for name, tensor in restored.items():
        assert torch.equal(tensor, at_k[name]), name
    assert any(not torch.equal(tensor, last[name]) for name, tensor in restored.items())
    scores = best.anomaly_score(val_images)
    assert reconad.metrics.roc_auc(val_labels, scores) == pytest.approx(best.history_[k - 1]["val_roc_auc"])


def test_save_load_round_trip_gives_identical_scores(digits, tmp_path):
    normal, test, labels = digits
    det = ImageDetector("conv", random_state=1, **FAST).fit(normal, validation=(test, labels))
    path = tmp_path / "digits.reconad"
    det.save(path)
    loaded = reconad.load(path)
    assert isinstance(loaded, ImageDetector) and loaded.get_params() == det.get_params()
    np.testing.assert_array_equal(loaded.anomaly_score(test), det.anomaly_score(test))
    np.testing.assert_array_equal(loaded.predict(test), det.predict(test))
    assert loaded.history_ == det.history_ and loaded.best_epoch_ == det.best_epoch_
    assert loaded.image_shape_ == (1, 8, 8) and loaded.threshold_.value_ == det.threshold_.value_


def test_the_same_seed_gives_identical_scores_and_clone_keeps_params(digits):
    normal, test, _ = digits
    a = ImageDetector("deep", random_state=5, **FAST).fit(normal).anomaly_score(test)
    b = ImageDetector("deep", random_state=5, **FAST).fit(normal).anomaly_score(test)
    np.testing.assert_array_equal(a, b)
    det = ImageDetector("deep", num_layers=3, random_state=5)
    twin = clone(det)
    assert twin.get_params() == det.get_params() and not hasattr(twin, "model_")


def test_summary_counts_the_slides_parameters(fitted):
    text = ImageDetector("mlp", latent_dim=64).summary(batch_size=32, image_shape=(1, 28, 28))
    assert "Total params: 101,200" in text
    assert "[32, 64]" in text and "50,240" in text and "50,960" in text  # encoder and decoder Linear layers
    own = fitted.summary()
    assert f"Total params: {sum(p.numel() for p in fitted.model_.parameters()):,}" in own
    assert "Conv2d" in own and "ConvTranspose2d" in own and "[1, 1, 8, 8]" in own

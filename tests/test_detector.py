import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

import reconad
from reconad import InputError, ModelFileError, NotFittedError, SeriesDetector
from reconad.data import make_sine
from reconad.metrics import auprc

FAST = dict(window=20, stride=5, epochs=2, hidden_size=8, batch_size=16, verbose=False)


@pytest.fixture(scope="module")
def sine():
    return make_sine(3, "independent")


@pytest.fixture(scope="module")
def fitted(sine):
    return SeriesDetector(model="gru", random_state=0, **FAST).fit(sine.train)


def test_fit_returns_self_and_scores_one_value_per_step(sine):
    det = SeriesDetector(model="conv1d", random_state=0, **FAST)
    assert det.fit(sine.train) is det
    scores = det.anomaly_score(sine.test)
    assert scores.shape == (1000,) and np.isfinite(scores).all()
    labels = det.predict(sine.test)
    assert labels.shape == (1000,) and set(np.unique(labels)) <= {0, 1}
    assert "held-out" in det.threshold_source_


def test_scores_follow_the_series_length_with_an_odd_tail(fitted, sine):
    x = sine.test[:997]  # 997 - 20 is not a multiple of the stride: the tail window must still be scored
    scores = fitted.anomaly_score(x)
    assert scores.shape == (997,) and np.isfinite(scores).all()
    np.testing.assert_allclose(scores[:900], fitted.anomaly_score(sine.test)[:900], rtol=1e-5)


def test_multivariate_input_and_dataframes():
    rng = np.random.default_rng(0)
    t = np.arange(600)
    frame = pd.DataFrame({"a": np.sin(t / 10), "b": np.cos(t / 7), "c": rng.normal(size=600) * 0.1})
    det = SeriesDetector(model="lstm", random_state=1, **FAST).fit(frame)
    assert det.n_features_in_ == 3 and det.feature_names_in_ == ["a", "b", "c"]
    assert det.anomaly_score(frame).shape == (600,)
    with pytest.raises(InputError, match=r"columns \['b', 'a', 'c'\]"):
        det.anomaly_score(frame[["b", "a", "c"]])
    with pytest.raises(InputError, match=r"columns the detector was not fitted on \['pressure'\];"):
        det.anomaly_score(frame.assign(pressure=1.0))  # the other column is named, not just counted
    with pytest.raises(InputError, match=r"not fitted on \['B'\] and no columns \['b'\]"):
        det.anomaly_score(frame.rename(columns={"b": "B"}))
    with pytest.raises(InputError, match=r"has no columns \['c'\]; pass the fitted columns \['a', 'b', 'c'\]"):
        det.anomaly_score(frame[["a", "b"]])
    assert det.reconstruct(frame.to_numpy()).shape == (600, 3)


def test_the_same_seed_gives_bit_identical_scores(sine):
    a = SeriesDetector(model="lstm", random_state=7, **FAST).fit(sine.train).anomaly_score(sine.test)
    b = SeriesDetector(model="lstm", random_state=7, **FAST).fit(sine.train).anomaly_score(sine.test)
    c = SeriesDetector(model="lstm", random_state=8, **FAST).fit(sine.train).anomaly_score(sine.test)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fit_does_not_touch_global_random_state(sine):
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    SeriesDetector(model="dense", random_state=0, **FAST).fit(sine.train)
    assert torch.equal(torch.rand(1), expected)


def test_clone_and_params():
    det = SeriesDetector(model="gru", window=30, random_state=4)
    twin = clone(det)
    assert twin.get_params() == det.get_params() and not hasattr(twin, "model_")
    assert det.set_params(window=40).window == 40


def test_preset_is_the_notebook_configuration():
    explicit = SeriesDetector(model="rnn", decoder="autoregressive", hidden_size=32, num_layers=2, window=100,
                              stride=10, score_stride=100, scaler=None, calibration_split=0, epochs=20,
                              batch_size=8, lr=1e-3, drift=None, random_state=5)
    assert SeriesDetector.from_preset("sine-notebook", random_state=5).get_params() == explicit.get_params()
    with pytest.raises(InputError, match="known presets: mnist-slides, sine-notebook$"):
        SeriesDetector.from_preset("nope")
    with pytest.raises(InputError, match="is for ImageDetector, not SeriesDetector"):
        SeriesDetector.from_preset("mnist-slides")
    slides = reconad.ImageDetector(model="mlp", latent_dim=64, transforms=None, error="mse", density=None, epochs=5,
                                   batch_size=32, lr=1e-3, random_state=5)
    assert reconad.ImageDetector.from_preset("mnist-slides", random_state=5).get_params() == slides.get_params()

    from reconad.presets import list_presets

    assert list_presets("SeriesDetector") == ["sine-notebook"]
    assert list_presets("ImageDetector") == ["mnist-slides"]
    assert list_presets() == ["mnist-slides", "sine-notebook"]


def test_calibration_split_zero_uses_training_scores_and_says_so(sine):
    det = SeriesDetector(model="gru", calibration_split=0, random_state=0, **FAST).fit(sine.train)
    assert "training data" in det.threshold_source_


def test_validation_keeps_the_best_epoch(sine):
    det = SeriesDetector(model="gru", random_state=0, **{**FAST, "epochs": 3})
    det.fit(sine.train, validation=(sine.test, sine.test_labels))
    assert [h["epoch"] for h in det.history_] == [1, 2, 3]
    assert {"train_loss", "val_auprc", "val_roc_auc", "val_oracle_f1"} <= set(det.history_[0])
    best = max(det.history_, key=lambda h: h["val_auprc"])
    assert det.best_epoch_ == best["epoch"]
    # the kept weights are that epoch's: the validation scores are the detector's scores (no threshold in them)
    assert auprc(sine.test_labels, det.anomaly_score(sine.test)) == pytest.approx(best["val_auprc"], rel=1e-6)


def test_track_records_metrics_without_choosing_the_epoch(sine):
    det = SeriesDetector(model="gru", random_state=0, **{**FAST, "epochs": 3})
    det.fit(sine.train, track={"test": (sine.test, sine.test_labels)})
    assert [h["epoch"] for h in det.history_] == [1, 2, 3]
    assert {"train_loss", "test_auprc", "test_roc_auc", "test_oracle_f1"} <= set(det.history_[0])
    assert not any(k.startswith("val_") for k in det.history_[0])
    assert det.best_epoch_ == 3  # the last epoch, whatever the tracked metrics say
    last = det.history_[-1]["test_auprc"]
    assert auprc(sine.test_labels, det.anomaly_score(sine.test)) == pytest.approx(last, rel=1e-6)
    plain = SeriesDetector(model="gru", random_state=0, **{**FAST, "epochs": 3}).fit(sine.train)
    np.testing.assert_array_equal(plain.anomaly_score(sine.test), det.anomaly_score(sine.test))  # tracking is free
    with pytest.raises(InputError, match="reserved for validation"):
        SeriesDetector(**FAST).fit(sine.train, track={"val": (sine.test, sine.test_labels)})


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([1.0, np.nan] * 300), "NaN or infinite"),
        (np.array([1.0, np.inf] * 300), "NaN or infinite"),
        (np.ones(10), "needs at least 80 steps"),  # a window shrinks to 16 at least; 16 / 0.2
        (np.ones((3, 4, 5)), r"shape \(T,\) or \(T, D\)"),
        (np.array([]), "empty"),
        (np.array(["a", "b"] * 300), "numeric"),
        (["1.5", "2"] * 300, "holds text"),  # numpy would read these as numbers; scikit-learn refuses them too
        (np.ones(600, dtype=bool), "holds True/False; to use it as a sensor, write it as 0/1"),
        (pd.DataFrame({"x": np.ones(600), "name": ["a"] * 600}), r"non-numeric columns \['name'\]"),
        (pd.DataFrame({"x": np.ones(600), "on": [True, False] * 300}), r"\['on'\] hold True/False"),
        (pd.DataFrame(np.ones((600, 2)), columns=["x", "x"]), r"several columns named \['x'\]"),
        (pd.DataFrame(np.ones((600, 2)), columns=[1, "1"]), r"several columns named \['1'\]"),
    ],
)
def test_bad_training_input_gets_one_clear_error(bad, message):
    with pytest.raises(InputError, match=message):
        SeriesDetector(random_state=0, **FAST).fit(bad)


def test_bad_scoring_input_and_unfitted_detector(fitted):
    with pytest.raises(NotFittedError, match="call fit"):
        SeriesDetector().anomaly_score(np.ones(200))
    with pytest.raises(InputError, match="2 features but the detector was fitted on 1"):
        fitted.anomaly_score(np.ones((200, 2)))
    with pytest.raises(InputError, match="fewer than one window"):
        fitted.anomaly_score(np.ones(5))


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(model="nope"), "known models"),
        (dict(window=0), "window must be an integer"),
        (dict(calibration_split=1.5), "calibration_split"),
        (dict(scaler="minmax"), "scaler"),
        (dict(score_stride=50, window=20), "wider than window"),
        (dict(epochs=0), "epochs"),
        (dict(threshold="magic"), "unknown threshold"),
        (dict(device="tpu"), "unknown device"),
    ],
)
def test_bad_parameters_are_reported_at_fit(params, message, sine):
    with pytest.raises(InputError, match=message):
        SeriesDetector(**{**FAST, **params}).fit(sine.train)


def test_short_training_series_names_the_minimum():
    # 60 steps leave a calibration tail of 12, below the smallest adapted window (16): 16 / 0.2 = 80 steps
    with pytest.raises(InputError, match="at least 80 steps"):
        SeriesDetector(window=20, calibration_split=0.2, verbose=False).fit(np.ones(60))


def test_save_load_round_trip_gives_identical_scores(fitted, sine, tmp_path):
    path = tmp_path / "det.reconad"
    fitted.save(path)
    loaded = reconad.load(path)
    assert isinstance(loaded, SeriesDetector)
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.anomaly_score(sine.test), fitted.anomaly_score(sine.test))
    np.testing.assert_array_equal(loaded.predict(sine.test), fitted.predict(sine.test))
    assert loaded.threshold_.value_ == fitted.threshold_.value_
    assert [p.name for p in tmp_path.iterdir()] == ["det.reconad"]  # no temporary file left behind


class _Payload:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickle_renamed_reconad_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.reconad"
    evil.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ModelFileError, match="not a reconad model file"):
        reconad.load(evil)
    assert not marker.exists()
    torch_file = tmp_path / "torch.reconad"  # a zip holding a pickle, as torch.save writes
    torch.save({"x": _Payload(marker)}, torch_file)
    with pytest.raises(ModelFileError):
        reconad.load(torch_file)
    assert not marker.exists()


def test_empty_truncated_and_foreign_files_are_refused(fitted, tmp_path):
    good = tmp_path / "good.reconad"
    fitted.save(good)
    data = good.read_bytes()
    cases = {
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "random": np.random.default_rng(0).bytes(4096),
        "json": b'{"format": "reconad"}',
    }
    for name, content in cases.items():
        path = tmp_path / f"{name}.reconad"
        path.write_bytes(content)
        with pytest.raises(ModelFileError):
            reconad.load(path)
    with pytest.raises(InputError, match="does not exist"):
        reconad.load(tmp_path / "missing.reconad")


def _rewrite_document(data: bytes, change) -> bytes:
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    document = json.loads(header["__metadata__"]["reconad"])
    change(document)
    header["__metadata__"]["reconad"] = json.dumps(document)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data[8 + n :]


def test_newer_format_and_missing_fields_are_refused(fitted, tmp_path):
    good = tmp_path / "good.reconad"
    fitted.save(good)
    newer = tmp_path / "newer.reconad"
    newer.write_bytes(_rewrite_document(good.read_bytes(), lambda d: d.update(format_version=99)))
    with pytest.raises(ModelFileError, match="newer reconad"):
        reconad.load(newer)
    broken = tmp_path / "broken.reconad"
    broken.write_bytes(_rewrite_document(good.read_bytes(), lambda d: d.pop("params")))
    with pytest.raises(ModelFileError, match="'params' is missing"):
        reconad.load(broken)


def test_save_to_a_missing_folder_is_a_clear_error(fitted, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        fitted.save(tmp_path / "no" / "such" / "det.reconad")


def test_smoothing_defaults_to_the_model_family(sine):
    """Window models smooth over 5 steps; recurrent ones score per step, as the course notebook."""
    from reconad.scoring import moving_average

    kw = {**FAST, "epochs": 1}
    dense = SeriesDetector(model="dense", random_state=0, **kw).fit(sine.train)
    assert dense.scorer_.smooth == 5 and dense.scorer_.reach == (2, 2)
    raw = dense.scorer_.folded_errors(dense.scorer_.prepare(sine.test))
    n = len(sine.test)
    np.testing.assert_array_equal(dense.anomaly_score(sine.test), moving_average(raw, 0, 0, n, n, 5))
    assert not np.array_equal(dense.anomaly_score(sine.test), raw)
    rnn = SeriesDetector(model="rnn", random_state=0, **kw).fit(sine.train)
    assert rnn.scorer_.smooth == 1 and rnn.scorer_.reach == (0, 0)
    np.testing.assert_array_equal(rnn.anomaly_score(sine.test),
                                  rnn.scorer_.folded_errors(rnn.scorer_.prepare(sine.test)))


def test_moving_average_is_a_centred_mean_with_repeated_edges():
    from reconad.scoring import moving_average

    raw = np.array([1.0, 2.0, 6.0, 0.0, 5.0])
    # size 3: each step with its neighbours, the edges repeating their end values
    np.testing.assert_allclose(moving_average(raw, 0, 0, 5, 5, 3), [4 / 3, 3, 8 / 3, 11 / 3, 10 / 3])
    # a slice of the series (raw steps [1, 5)) gives the same bits for the steps it covers with their neighbours
    np.testing.assert_array_equal(moving_average(raw[1:], 1, 2, 4, 5, 3), moving_average(raw, 0, 0, 5, 5, 3)[2:4])
    np.testing.assert_array_equal(moving_average(raw, 0, 1, 4, 5, 1), raw[1:4])


@pytest.mark.parametrize("score_stride", [1, 7])
def test_batched_scoring_equals_one_unbatched_pass(monkeypatch, score_stride):
    """Scoring in batches of windows, folded as they come, gives the scores of building every window at once."""
    import torch

    from reconad.data.windows import fold_windows, gather_windows, window_starts
    from reconad.scoring import SeriesScorer, moving_average

    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, 4)).astype(np.float32)
    det = SeriesDetector(window=20, score_stride=score_stride, epochs=1, verbose=False, random_state=0).fit(x[:200])
    scorer = det.scorer_
    assert scorer.stride == score_stride
    # the whole (N, W, D) window tensor in one model call, folded in one go: the unbatched reference
    scaled = scorer.scale(x.copy())
    starts = window_starts(len(x), det.window_, score_stride)
    windows = torch.from_numpy(gather_windows(scaled, starts, det.window_))  # (N, W, D)
    with torch.no_grad():
        errors = ((det.model_(windows) - windows) ** 2).amax(dim=-1).numpy()  # (N, W)
    raw = fold_windows(errors, starts, len(x))
    expected = moving_average(raw, 0, 0, len(x), len(x), scorer.smooth)
    monkeypatch.setattr(SeriesScorer, "batch_size", lambda self: 6)  # many small batches
    np.testing.assert_allclose(det.anomaly_score(x), expected, rtol=1e-5, atol=1e-7)
    assert len(starts) > 6 * 10  # the batched run really used many batches


def test_removed_parameters_are_gone():
    """context, spread, min_scale, fold, smooth, checkpoint and precision left the constructor."""
    params = SeriesDetector().get_params()
    assert len(params) == 18
    for name in ("context", "spread", "min_scale", "fold", "smooth", "checkpoint", "precision"):
        assert name not in params
        with pytest.raises(TypeError):
            SeriesDetector(**{name: 1})

"""``drift``: features whose level drifts in training are seen centred on each window's mean (LevelFree)."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

import reconad
from reconad.drift import drift_mask, drifting_features
from reconad.errors import InputError, ModelFileError
from reconad.models import build_model, list_models
from reconad.models.centred import LevelFree
from reconad.persistence import read_model_file, write_model_file

FAST = dict(window=20, stride=5, epochs=30, hidden_size=16, random_state=0, verbose=False)
AUTO = FAST  # drift="auto" is the default


def plant(n=1200, seed=0):
    """Column 0 'temperature': creeps up 0.004 per step for 600 steps, then warms 0.02 per step (noise std 0.2, plus
    a ripple); column 1 'flow': a steady level of 32 with noise std 0.3; column 2 'current': a noisy oscillation."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    creep = 0.004 * np.minimum(t, 600) + 0.02 * np.maximum(t - 600, 0)
    temperature = 20 + creep + 0.3 * np.sin(t / 7) + 0.2 * rng.normal(size=n)
    flow = 32 + 0.3 * rng.normal(size=n)
    current = np.sin(t / 4) + 0.1 * rng.normal(size=n)
    return pd.DataFrame({"temperature": temperature, "flow": flow, "current": current})


# ---- the rule, on series whose answer is known -------------------------------------------------------------------


def test_a_ramp_drifts_and_noise_a_sine_and_a_constant_do_not():
    rng = np.random.default_rng(0)
    t = np.arange(800)
    x = np.stack(
        [
            t / 800.0,  # a straight ramp: block means spread over 0.97 of its std
            rng.normal(size=800),  # white noise: about 1 / sqrt(200)
            np.sin(2 * np.pi * t / 50),  # a sine of 4 periods per block: about 0
            np.full(800, 3.0),  # a constant: no spread at all
            np.cumsum(rng.normal(size=800)),  # a random walk wanders
        ],
        axis=1,
    )
    assert drifting_features(x).tolist() == [True, False, False, False, True]


def test_the_rule_compares_block_means_with_half_the_standard_deviation():
    # four blocks of 26 rows at levels -a, -a, a, a plus zero-mean +-1 within every block: block-mean std = a,
    # overall std = sqrt(a^2 + 1); a / sqrt(a^2 + 1) >= 0.5 exactly when a >= 1 / sqrt(3) = 0.577
    within = np.tile([1.0, -1.0], 52)
    for a, expected in [(0.55, False), (0.60, True)]:
        levels = np.repeat([-a, -a, a, a], 26)
        assert drifting_features((levels + within)[:, None]).tolist() == [expected]


def test_too_few_rows_per_block_call_nothing_drifting():
    ramp = np.arange(99.0)[:, None]  # 24 rows per block: below the 25 that tell drift from noise
    assert not drifting_features(ramp).any()
    assert drifting_features(np.arange(100.0)[:, None]).all()


# ---- the detector ------------------------------------------------------------------------------------------------


def test_auto_finds_the_drifting_column_by_name():
    det = reconad.SeriesDetector(**AUTO).fit(plant().iloc[:600])
    assert det.drifting_features_ == ["temperature"]
    assert isinstance(det.model_, LevelFree)
    assert det.model_.drifting.tolist() == [1.0, 0.0, 0.0]


def test_steady_data_keeps_the_plain_model():
    x = plant().to_numpy()[:, 1:]  # flow and current only
    det = reconad.SeriesDetector(**AUTO).fit(x[:600])
    assert det.drifting_features_ == [] and not isinstance(det.model_, LevelFree)


def test_a_drift_past_the_training_range_no_longer_alarms_but_a_fault_still_does():
    x = plant(seed=1)
    fault = x.copy()
    fault.loc[900:999, "flow"] -= 2.0  # the valve closes: flow drops by 6-7 noise standard deviations
    plain = reconad.SeriesDetector(drift=None, **FAST).fit(x.iloc[:600])
    centred = reconad.SeriesDetector(**AUTO).fit(x.iloc[:600])
    # from step 800 on the temperature is 4 units or more (20 noise stds) past anything seen in training
    assert plain.predict(x)[800:].mean() > 0.5
    assert centred.predict(x)[600:].mean() < 0.05
    assert centred.predict(fault)[910:990].mean() > 0.9


def test_a_listed_feature_is_centred_by_name_or_index_and_none_centres_nothing():
    x = plant().iloc[:600]
    assert reconad.SeriesDetector(drift=["flow"], **FAST).fit(x).drifting_features_ == ["flow"]
    assert reconad.SeriesDetector(drift=[2, 0], **FAST).fit(x).drifting_features_ == ["temperature", "current"]
    assert reconad.SeriesDetector(drift=[1], **FAST).fit(x.to_numpy()).drifting_features_ == [1]
    assert reconad.SeriesDetector(drift=None, **FAST).fit(x).drifting_features_ == []


@pytest.mark.parametrize(
    "drift, message",
    [
        ("yes", "drift must be 'auto', None or a list"),
        (True, "drift must be 'auto', None or a list"),
        ([0.5], "drift must be 'auto', None or a list"),
        ([True], "drift must be 'auto', None or a list"),
        (np.array([0, 1]), "drift must be 'auto', None or a list"),
        (["pressure"], "drift names feature 'pressure', which the training data lacks; its columns are"),
        ([3], r"drift names column 3, but the training data has 3 features \(0 to 2\)"),
        ([-1], r"drift names column -1, but the training data has 3 features"),
    ],
)
def test_bad_drift_is_one_clear_error(drift, message):
    with pytest.raises(InputError, match=message):
        reconad.SeriesDetector(drift=drift, **FAST).fit(plant().iloc[:600])


def test_drift_mask_is_the_auto_rule_or_the_listed_features():
    train = plant().to_numpy()[:800]
    names = ["temperature", "flow", "current"]
    np.testing.assert_array_equal(drift_mask("auto", train, names), drifting_features(train))
    assert drift_mask("auto", train, None).tolist() == [True, False, False]
    assert drift_mask(["current", 0], train, names).tolist() == [True, False, True]
    assert drift_mask(None, train, names).tolist() == [False, False, False]
    assert drift_mask([], train, None).tolist() == [False, False, False]
    with pytest.raises(InputError, match="it has no column names"):
        drift_mask(["flow"], train, None)


def test_a_name_without_column_names_says_to_pass_a_dataframe():
    with pytest.raises(InputError, match="it has no column names"):
        reconad.SeriesDetector(drift=["flow"], **FAST).fit(plant().to_numpy()[:600])


def test_scores_explain_and_streaming_agree_with_a_centred_model():
    x = plant(seed=2)
    det = reconad.SeriesDetector(**AUTO).fit(x.iloc[:600])
    scores = det.anomaly_score(x)
    contributions = det.explain(x)  # (T, D): the mean of a max is at least the max of the means
    assert (contributions.max(axis=1) <= scores * (1 + 1e-5)).all()
    assert contributions[:, 0].mean() < contributions[:, 1:].mean() * 10  # the creep does not dominate
    scorer = det.stream()
    parts = [scorer.update(x.iloc[i : i + 97]) for i in range(0, len(x), 97)] + [scorer.finish()]
    np.testing.assert_allclose(np.concatenate(parts), scores, rtol=1e-5, atol=1e-6)


def test_the_centred_model_reconstructs_in_the_input_units():
    x = plant(seed=3)
    det = reconad.SeriesDetector(**AUTO).fit(x.iloc[:600])
    recon = det.reconstruct(x)
    # the temperature's level is added back, so its reconstruction follows the creep (within its noise)
    assert np.abs(recon[:, 0] - x["temperature"].to_numpy()).mean() < 0.5


# ---- persistence -------------------------------------------------------------------------------------------------


def test_saved_centred_detector_loads_back_with_the_same_scores(tmp_path):
    x = plant(seed=4)
    det = reconad.SeriesDetector(**AUTO).fit(x.iloc[:600])
    det.save(tmp_path / "m.reconad")
    loaded = reconad.load(tmp_path / "m.reconad")
    assert loaded.drift == "auto" and loaded.drifting_features_ == ["temperature"]
    assert reconad.SeriesDetector().drift == "auto"  # the default
    np.testing.assert_array_equal(loaded.anomaly_score(x), det.anomaly_score(x))


def _rewrite(path, edit):
    document, tensors = read_model_file(path)
    edit(tensors, document)
    write_model_file(path, tensors, document)


def test_a_file_from_before_drift_loads_as_drift_none(tmp_path):
    x = plant(seed=5).to_numpy()[:, 1:]
    det = reconad.SeriesDetector(**FAST).fit(x[:600])
    path = tmp_path / "old.reconad"
    det.save(path)

    def forget_drift(tensors, document):
        del document["params"]["drift"]
        del document["state"]["drifting"]

    _rewrite(path, forget_drift)
    loaded = reconad.load(path)
    assert loaded.drift is None and loaded.drifting_features_ == []
    np.testing.assert_array_equal(loaded.anomaly_score(x), det.anomaly_score(x))


@pytest.mark.parametrize("bad", [[7], [-1], ["0"], [0.0], "0"])
def test_a_file_with_bad_drifting_indices_is_refused(tmp_path, bad):
    det = reconad.SeriesDetector(**AUTO).fit(plant().iloc[:600])
    path = tmp_path / "m.reconad"
    det.save(path)
    _rewrite(path, lambda tensors, document: document["state"].__setitem__("drifting", bad))
    with pytest.raises(ModelFileError, match="drifting features"):
        reconad.load(path)


def test_a_file_whose_mask_disagrees_with_its_weights_is_refused(tmp_path):
    det = reconad.SeriesDetector(**AUTO).fit(plant().iloc[:600])  # centred: its weights hold the mask
    path = tmp_path / "m.reconad"
    det.save(path)
    _rewrite(path, lambda tensors, document: document["state"].__setitem__("drifting", []))
    with pytest.raises(ModelFileError, match="weights do not fit the model"):
        reconad.load(path)


# ---- the wrapper, around every series model ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list_models(kind="series"))
def test_level_free_wraps_every_series_model(name):
    torch.manual_seed(0)
    inner = build_model(name, n_features=3, window=12, hidden_size=8)
    model = LevelFree(inner, torch.tensor([1.0, 0.0, 1.0]))
    x = torch.randn(4, 12, 3, requires_grad=True)
    out = model(x)
    assert out.shape == x.shape and torch.isfinite(out).all()
    # a drifting feature's level passes through: shifting it shifts the output by the same amount
    shift = torch.tensor([5.0, 0.0, -3.0])
    np.testing.assert_allclose((model(x + shift) - out).detach().numpy(), np.broadcast_to(shift.numpy(), out.shape),
                               atol=1e-4)
    out.pow(2).sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)  # pca: frozen, fitted in one pass
    assert json.dumps(model.drifting.tolist()) == "[1.0, 0.0, 1.0]"

"""``min_scale``: a floor on each feature's standardisation scale, relative to the feature's level."""

import numpy as np
import pytest

import reconad
from reconad.errors import InputError

FAST = dict(window=20, stride=5, epochs=5, hidden_size=8, random_state=0, verbose=False)


def sensors(n=600, seed=0):
    """Feature 0: a noisy oscillation around 0; feature 1: a level of 100 that barely moves (std 0.01)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.stack([np.sin(t / 5) + 0.1 * rng.normal(size=n), 100 + 0.01 * rng.normal(size=n)], axis=1)


def test_the_scale_is_floored_at_a_fraction_of_the_level_and_only_there():
    x = sensors()
    train = x[: int(len(x) * 0.8)]
    plain = reconad.SeriesDetector(**FAST).fit(x)
    floored = reconad.SeriesDetector(min_scale=0.01, **FAST).fit(x)
    # feature 0 (level ~0, std ~0.7) keeps its standard deviation; feature 1 gets 1% of 100 instead of 0.01
    assert floored.scaler_.scale_[0] == pytest.approx(train[:, 0].std(), rel=1e-6)
    assert floored.scaler_.scale_[1] == pytest.approx(0.01 * abs(train[:, 1].mean()), rel=1e-6)
    assert plain.scaler_.scale_[1] == pytest.approx(train[:, 1].std(), rel=1e-4)  # float32 input


def test_a_small_drift_of_a_quiet_sensor_no_longer_alarms_but_a_fault_still_does():
    x = sensors(1200, seed=1)
    drift = x.copy()
    drift[600:, 1] += np.linspace(0, 0.3, 600)  # 0.3 units: 30 training standard deviations, 0.3% of the level
    fault = x.copy()
    fault[800:900, 1] += 5.0  # 5% of the level
    plain = reconad.SeriesDetector(**FAST).fit(x[:600])
    floored = reconad.SeriesDetector(min_scale=0.01, **FAST).fit(x[:600])
    assert plain.predict(drift)[600:].mean() > 0.5  # without the floor the drift reads as an anomaly
    assert floored.predict(drift)[600:].mean() < 0.05
    assert floored.predict(fault)[820:880].mean() > 0.9


def test_saved_floored_scale_loads_back(tmp_path):
    x = sensors()
    det = reconad.SeriesDetector(min_scale=0.01, **FAST).fit(x)
    det.save(tmp_path / "m.reconad")
    loaded = reconad.load(tmp_path / "m.reconad")
    assert loaded.min_scale == 0.01
    np.testing.assert_array_equal(loaded.scaler_.scale_, det.scaler_.scale_)
    np.testing.assert_array_equal(loaded.anomaly_score(x), det.anomaly_score(x))


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "0.01", True])
def test_bad_min_scale_is_one_clear_error(bad):
    with pytest.raises(InputError, match="min_scale must be a number >= 0"):
        reconad.SeriesDetector(min_scale=bad, **FAST).fit(sensors())


def test_min_scale_needs_the_standard_scaler():
    with pytest.raises(InputError, match="use it with scaler='standard'"):
        reconad.SeriesDetector(min_scale=0.01, scaler=None, **FAST).fit(sensors())

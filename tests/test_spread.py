"""``spread``: the peak-preserving widening of the scores (hand-computed tables, properties, detector wiring)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import reconad
from reconad.data import make_sine
from reconad.detector import decayed_max
from reconad.errors import InputError

E = math.exp(-1.0)


def whole(s, spread):
    s = np.asarray(s, dtype=np.float64)
    return decayed_max(s, 0, 0, len(s), len(s), spread)


@pytest.mark.parametrize(
    "scores, spread, expected",
    [
        # one peak: it keeps its value, neighbours get 8 e^-|d| out to the reach of 3 steps, then nothing
        ([0, 0, 8, 0, 0, 0, 0], 1, [8 * E**2, 8 * E, 8, 8 * E, 8 * E**2, 8 * E**3, 0]),
        # two peaks: each step takes the larger lift; step 4 is 4 steps from the 4 (out of reach), 3 from the 1
        ([4, 0, 0, 0, 0, 0, 0, 1], 1, [4, 4 * E, 4 * E**2, 4 * E**3, E**3, E**2, E, 1]),
        # a step above its lifted neighbours keeps its own score
        ([5, 3, 0], 1, [5, 5 * E if 5 * E > 3 else 3, 3 * E]),
        # spread 2: weights e^(-d/2) out to 6 steps
        ([0, 0, 0, 0, 0, 0, 0, 2], 2, [0, 2 * E**3, 2 * E**2.5, 2 * E**2, 2 * E**1.5, 2 * E, 2 * E**0.5, 2]),
        # spread 0 changes nothing
        ([1, 0, 3, 2], 0, [1, 0, 3, 2]),
    ],
)
def test_hand_computed_tables(scores, spread, expected):
    np.testing.assert_allclose(whole(scores, spread), expected, rtol=1e-12, atol=1e-15)


@settings(max_examples=200, deadline=None)
@given(
    s=arrays(np.float64, st.integers(1, 80), elements=st.floats(0, 1e6)),
    spread=st.integers(0, 6),
    data=st.data(),
)
def test_properties_and_slices_give_the_bits_of_the_whole(s, spread, data):
    y = whole(s, spread)
    assert np.all(y >= s)  # every step keeps at least its own score
    assert y.max() == s.max()  # nothing is lifted above the highest score, which stays where it was
    assert y[np.argmax(s)] == s.max()
    start = data.draw(st.integers(0, len(s) - 1))
    stop = data.draw(st.integers(start + 1, len(s)))
    reach = 3 * spread
    lo, hi = max(0, start - reach), min(len(s), stop + reach)
    np.testing.assert_array_equal(decayed_max(s[lo:hi], lo, start, stop, len(s), spread), y[start:stop])


@pytest.fixture(scope="module")
def sine():
    return make_sine(3, "independent")


def fit(train, **params):
    # context=0: these tests compare scores with spread's own arithmetic (test_context.py covers the two together)
    params = {"context": 0, **params}
    return reconad.SeriesDetector(window=40, epochs=3, random_state=0, verbose=False, **params).fit(train)


def test_the_detector_spreads_scores_calibration_and_explanations(sine, tmp_path):
    plain, wide = fit(sine.train), fit(sine.train, spread=10)
    base, scores = plain.anomaly_score(sine.test), wide.anomaly_score(sine.test)
    np.testing.assert_allclose(scores, whole(base, 10), rtol=1e-6)  # same model: spreading is after smoothing
    tail = plain._scale(sine.train[-int(round(len(sine.train) * 0.2)) :].reshape(-1, 1))  # the calibration tail
    calibration = whole(plain._score_scaled(plain.model_, tail), 10)  # the threshold is fitted on spread scores
    assert wide.threshold_.value_ == pytest.approx(calibration.mean() + 4 * calibration.std(), rel=1e-6)
    assert wide.threshold_.value_ != pytest.approx(plain.threshold_.value_, rel=1e-3)
    np.testing.assert_allclose(wide.explain(sine.test)[:, 0], scores, rtol=1e-6)  # one feature: it is the score
    np.testing.assert_array_equal(wide.predict(sine.test), (scores > wide.threshold_.value_).astype(np.int8))
    wide.save(tmp_path / "wide.reconad")
    loaded = reconad.load(tmp_path / "wide.reconad")
    assert loaded.spread == 10
    np.testing.assert_array_equal(loaded.anomaly_score(sine.test), scores)


def test_explain_rows_stay_below_the_score_with_several_features():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 3)).astype(np.float32)
    det = fit(x[:400], spread=5)
    test = x[400:].copy()
    test[100:110, 1] += 6.0
    per_feature, scores = det.explain(test), det.anomaly_score(test)
    assert np.all(per_feature.max(axis=1) <= scores * (1 + 1e-6))
    assert np.argmax(per_feature[95:115].mean(axis=0)) == 1


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_spread_is_one_clear_error(sine, bad):
    with pytest.raises(InputError, match="spread must be an integer >= 0"):
        reconad.SeriesDetector(spread=bad).fit(sine.train)

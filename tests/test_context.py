"""``context``: below the threshold, steps are ranked by the nearness of high scores; flags never change."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reconad
from reconad.detector import CONTEXT_WEIGHT, with_context
from reconad.errors import InputError
from reconad.persistence import read_model_file, write_model_file

W = CONTEXT_WEIGHT
FAST = dict(window=20, stride=5, epochs=5, hidden_size=16, random_state=0, verbose=False)


def whole(scores, context, threshold):
    scores = np.asarray(scores, dtype=np.float64)
    return with_context(scores, 0, 0, len(scores), len(scores), context, threshold)


def lifted(own, near):
    """A step at or below the threshold 1: (own + W min(near, 1)) / (1 + W)."""
    return (own + W * min(near, 1.0)) / (1 + W)


def test_with_context_by_hand():
    # threshold 1, context 1: a neighbour d steps away weighs e^-d, out to 3 steps
    scores = [0, 0, 2, 0, 0, 0, 0, 0.5]
    e = math.exp
    expected = [
        lifted(0, 2 * e(-2)),  # the peak two steps away
        lifted(0, 2 * e(-1)),
        2.0,  # above the threshold: unchanged
        lifted(0, 2 * e(-1)),
        lifted(0, 2 * e(-2)),  # the 0.5 three steps away weighs only 0.5 e^-3
        lifted(0, 2 * e(-3)),  # the peak at the edge of the reach beats the 0.5 at 2 steps (0.5 e^-2)
        lifted(0, 0.5 * e(-1)),  # the peak is 4 steps away: out of reach
        lifted(0.5, 0.5),  # its own score is the highest near it: unchanged
    ]
    np.testing.assert_allclose(whole(scores, 1, 1.0), expected, rtol=1e-12)
    assert expected[-1] == pytest.approx(0.5)


def test_a_step_next_to_a_big_alarm_is_capped_just_at_the_threshold():
    out = whole([5.0, 0.2], 1, 1.0)
    assert out[0] == 5.0 and out[1] == pytest.approx((0.2 + W) / (1 + W)) and out[1] < 1.0


def test_context_zero_changes_nothing():
    scores = np.array([0.1, 3.0, 0.4, 0.0, 0.9])
    np.testing.assert_allclose(whole(scores, 0, 1.0), scores, rtol=1e-12)


@settings(deadline=None)
@given(
    st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=60),
    st.floats(0.01, 10),
    st.integers(0, 6),
)
def test_flags_never_change_and_quiet_steps_only_rise_to_the_threshold(scores, threshold, context):
    s = np.array(scores)
    out = whole(s, context, threshold)
    np.testing.assert_array_equal(out > threshold, s > threshold)  # exactly the same steps flagged
    np.testing.assert_array_equal(out[s > threshold], s[s > threshold])  # alarms keep their scores
    quiet = s <= threshold
    assert np.all(out[quiet] >= s[quiet] * (1 - 1e-12)) and np.all(out[quiet] <= threshold)


@settings(deadline=None)
@given(st.lists(st.floats(0, 10, allow_nan=False), min_size=12, max_size=60), st.integers(1, 3), st.data())
def test_a_slice_with_its_reach_gives_the_whole_series_bits(scores, context, data):
    s = np.array(scores)
    start = data.draw(st.integers(0, len(s) - 1))
    stop = data.draw(st.integers(start + 1, len(s)))
    reach = 3 * context
    lo, hi = max(0, start - reach), min(len(s), stop + reach)
    part = with_context(s[lo:hi], lo, start, stop, len(s), context, 2.0)
    np.testing.assert_array_equal(part, whole(s, context, 2.0)[start:stop])


def spiky(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    x = np.sin(np.arange(n) / 5) + 0.1 * rng.normal(size=n)
    x[700:703] += 4.0  # one short fault
    return x.astype(np.float32)


def test_the_detector_flags_the_same_steps_and_ranks_the_alarms_neighbours_higher():
    x = spiky()
    plain = reconad.SeriesDetector(context=0, **FAST).fit(x[:400])
    ranked = reconad.SeriesDetector(context=30, **FAST).fit(x[:400])
    assert ranked.threshold_.value_ == plain.threshold_.value_  # fitted on the scores without context
    np.testing.assert_array_equal(ranked.predict(x), plain.predict(x))
    base, scores = plain.anomaly_score(x), ranked.anomaly_score(x)
    flagged = base > plain.threshold_.value_
    assert flagged[700:703].all()
    np.testing.assert_array_equal(scores[flagged], base[flagged])
    # a quiet step 20 steps from the fault now outranks every quiet step far from it
    near, far = scores[725], scores[400:600]
    assert not flagged[725] and near > far.max()
    assert base[725] <= base[400:600].max()  # which its own score did not


def test_streaming_and_ranges_agree_with_the_whole_series():
    x = spiky(seed=1)
    det = reconad.SeriesDetector(context=12, **FAST).fit(x[:400])
    scores = det.anomaly_score(x)
    scorer = det.stream()
    parts = [scorer.update(x[i : i + 77]) for i in range(0, len(x), 77)] + [scorer.finish()]
    np.testing.assert_allclose(np.concatenate(parts), scores, rtol=1e-6, atol=1e-9)
    lo, hi = det._context_range(650, 760, len(x))
    np.testing.assert_array_equal(det._score_range(x[lo:hi], lo, 650, 760, len(x)), scores[650:760])


def test_saved_context_loads_back_and_old_files_load_without_it(tmp_path):
    x = spiky(seed=2)
    det = reconad.SeriesDetector(context=20, **FAST).fit(x[:400])
    assert reconad.SeriesDetector().context == 50  # the default
    det.save(tmp_path / "m.reconad")
    loaded = reconad.load(tmp_path / "m.reconad")
    assert loaded.context == 20
    np.testing.assert_array_equal(loaded.anomaly_score(x), det.anomaly_score(x))
    document, tensors = read_model_file(tmp_path / "m.reconad")
    del document["params"]["context"]  # a file saved before context existed
    write_model_file(tmp_path / "old.reconad", tensors, document)
    old = reconad.load(tmp_path / "old.reconad")
    assert old.context == 0
    np.testing.assert_array_equal(old.anomaly_score(x), det.set_params(context=0).anomaly_score(x))


@pytest.mark.parametrize("bad", [-1, 1.5, True, "50"])
def test_bad_context_is_one_clear_error(bad):
    with pytest.raises(InputError, match="context must be an integer >= 0"):
        reconad.SeriesDetector(context=bad).fit(spiky())

"""det.stream(): scores of a series fed in pieces equal the whole series' scores."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reconad
from reconad.errors import InputError

WINDOW = 12
RNG = np.random.default_rng(7)
SERIES = RNG.normal(size=(400, 3)).astype(np.float32)
SERIES[250:262] += 4.0  # an anomaly, so the scores are not all alike
CONFIGS = {  # (score_stride, fold, smooth, spread): every-window, strided + tail window, max fold, raw, spread
    "every-step": (1, "mean", None, 0),
    "strided": (5, "mean", 4, 0),
    "max": (3, "max", 3, 0),
    "raw": (1, "mean", 1, 0),
    "spread": (2, "mean", 3, 2),
}


@pytest.fixture(scope="module")
def detectors():
    return {
        name: reconad.SeriesDetector(
            window=WINDOW, stride=4, score_stride=stride, fold=fold, smooth=smooth, spread=spread, epochs=2,
            verbose=False, random_state=0,
        ).fit(SERIES[:150])
        for name, (stride, fold, smooth, spread) in CONFIGS.items()
    }


def feed(det, x, sizes):
    scorer, parts, begin = det.stream(), [], 0
    for size in sizes:
        if begin >= len(x):
            break
        parts.append(scorer.update(x[begin : begin + size]))
        begin += size
        assert scorer.n_scored == sum(len(p) for p in parts)
    if begin < len(x):
        parts.append(scorer.update(x[begin:]))
    parts.append(scorer.finish())
    return np.concatenate(parts), scorer


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(sorted(CONFIGS)),
    length=st.integers(WINDOW, 250),
    sizes=st.lists(st.integers(0, 60), min_size=1, max_size=40),  # 0: a poll that brought no rows
)
def test_streamed_scores_equal_batch_scores_for_any_chunking(detectors, name, length, sizes):
    det = detectors[name]
    x = SERIES[150 : 150 + length]
    streamed, scorer = feed(det, x, sizes)
    assert scorer.n_seen == scorer.n_scored == length
    np.testing.assert_allclose(streamed, det.anomaly_score(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_scores_lag_by_at_most_a_window_plus_the_smoothing_reach(detectors, name):
    det = detectors[name]
    stride = CONFIGS[name][0]
    left, reach = det._reach  # the smoothing's and the spread's reach
    scorer = det.stream()
    for n in range(1, 120):
        scorer.update(SERIES[150 + n - 1 : 150 + n])
        lag = WINDOW + reach + (0 if stride == 1 else 1)
        assert scorer.n_scored >= n - lag, (n, scorer.n_scored)
        assert len(scorer._rows) <= WINDOW + stride  # bounded memory: only rows a window will still read
        assert len(scorer._acc) <= WINDOW + stride + left + reach + 2


def test_one_step_at_a_time_and_dataframes(detectors):
    det = reconad.SeriesDetector(window=WINDOW, epochs=1, verbose=False, random_state=0)
    frame = pd.DataFrame(SERIES[:200], columns=["a", "b", "c"])
    det.fit(frame[:120])
    scorer = det.stream()
    parts = [scorer.update(frame.iloc[i : i + 1]) for i in range(120, 200)] + [scorer.finish()]
    np.testing.assert_allclose(np.concatenate(parts), det.anomaly_score(frame[120:]), rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError, match="columns"):
        det.stream().update(frame[["c", "b", "a"]])


def test_bad_streams_are_input_errors(detectors):
    det = detectors["every-step"]
    scorer = det.stream()
    scorer.update(SERIES[:5])
    with pytest.raises(InputError, match="fewer than one window"):
        scorer.finish()
    scorer.update(SERIES[5:40])
    scorer.finish()
    with pytest.raises(InputError, match="finished"):
        scorer.update(SERIES[:5])
    with pytest.raises(InputError, match="features"):
        det.stream().update(SERIES[:5, :2])
    with pytest.raises(InputError, match="NaN"):
        det.stream().update(np.full((3, 3), np.nan))
    with pytest.raises(Exception, match="not fitted|fit"):
        reconad.SeriesDetector().stream()

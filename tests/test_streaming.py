"""det.stream() (a StreamScorer over det.scorer_): scores of a series fed in pieces equal the whole series' scores."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reconad
from reconad.errors import InputError
from reconad.scoring import SeriesScorer
from reconad.streaming import StreamScorer

WINDOW = 12
RNG = np.random.default_rng(7)
SERIES = RNG.normal(size=(400, 3)).astype(np.float32)
SERIES[250:262] += 4.0  # an anomaly, so the scores are not all alike
# name: (model family, score_stride); dense smooths over 5 steps, gru scores per step
CONFIGS = {
    "dense": ("dense", 1),  # every window, smoothing reaches 2 steps each side
    "dense-strided": ("dense", 5),  # strided windows + the tail window
    "gru": ("gru", 1),  # no smoothing
    "gru-strided": ("gru", 3),
}
# scorers a detector does not build from its parameters but a SeriesScorer (and older model files) can hold
CUSTOM = {"max-fold": ("dense", 3, "max", 3), "even-smoothing": ("gru", 5, "mean", 4)}  # base, stride, fold, smooth


@pytest.fixture(scope="module")
def scorers():
    detectors = {
        name: reconad.SeriesDetector(model=model, window=WINDOW, stride=4, score_stride=stride, epochs=2,
                                     verbose=False, random_state=0).fit(SERIES[:150])
        for name, (model, stride) in CONFIGS.items()
    }
    out = {name: det.scorer_ for name, det in detectors.items()}
    for name, (base, stride, fold, smooth) in CUSTOM.items():
        fitted = detectors[base].scorer_
        out[name] = SeriesScorer(fitted.model, window=WINDOW, stride=stride, n_features=3, mean=fitted.mean,
                                 scale=fitted.scale_values, fold=fold, smooth=smooth)
    return out


def test_the_configurations_differ_as_intended(scorers):
    assert [scorers[n].smooth for n in ("dense", "dense-strided", "gru", "gru-strided")] == [5, 5, 1, 1]
    assert [scorers[n].stride for n in CONFIGS] == [1, 5, 1, 3]
    assert (scorers["max-fold"].fold, scorers["even-smoothing"].reach) == ("max", (2, 1))


def feed(scorer_, x, sizes):
    scorer, parts, begin = StreamScorer(scorer_), [], 0
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
    name=st.sampled_from(sorted({**CONFIGS, **CUSTOM})),
    length=st.integers(WINDOW, 250),
    sizes=st.lists(st.integers(0, 60), min_size=1, max_size=40),  # 0: a poll that brought no rows
)
def test_streamed_scores_equal_batch_scores_for_any_chunking(scorers, name, length, sizes):
    x = SERIES[150 : 150 + length]
    streamed, scorer = feed(scorers[name], x, sizes)
    assert scorer.n_seen == scorer.n_scored == length
    np.testing.assert_allclose(streamed, scorers[name].score(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted({**CONFIGS, **CUSTOM}))
def test_scores_lag_by_at_most_a_window_plus_the_smoothing_reach(scorers, name):
    stride = scorers[name].stride
    left, reach = scorers[name].reach  # the smoothing's reach
    scorer = StreamScorer(scorers[name])
    for n in range(1, 120):
        scorer.update(SERIES[150 + n - 1 : 150 + n])
        lag = WINDOW + reach + (0 if stride == 1 else 1)
        assert scorer.n_scored >= n - lag, (n, scorer.n_scored)
        assert len(scorer._rows) <= WINDOW + stride  # bounded memory: only rows a window will still read
        assert len(scorer._acc) <= WINDOW + stride + left + reach + 2


def test_one_step_at_a_time_and_dataframes():
    det = reconad.SeriesDetector(window=WINDOW, epochs=1, verbose=False, random_state=0)
    frame = pd.DataFrame(SERIES[:200], columns=["a", "b", "c"])
    det.fit(frame[:120])
    scorer = det.stream()
    parts = [scorer.update(frame.iloc[i : i + 1]) for i in range(120, 200)] + [scorer.finish()]
    np.testing.assert_allclose(np.concatenate(parts), det.anomaly_score(frame[120:]), rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError, match="columns"):
        det.stream().update(frame[["c", "b", "a"]])


def test_bad_streams_are_input_errors(scorers):
    scorer = StreamScorer(scorers["dense"])
    scorer.update(SERIES[:5])
    with pytest.raises(InputError, match="fewer than one window"):
        scorer.finish()
    scorer.update(SERIES[5:40])
    scorer.finish()
    with pytest.raises(InputError, match="finished"):
        scorer.update(SERIES[:5])
    with pytest.raises(InputError, match="features"):
        StreamScorer(scorers["dense"]).update(SERIES[:5, :2])
    with pytest.raises(InputError, match="NaN"):
        StreamScorer(scorers["dense"]).update(np.full((3, 3), np.nan))
    with pytest.raises(Exception, match="not fitted|fit"):
        reconad.SeriesDetector().stream()


@pytest.mark.parametrize("name", ["dense", "dense-strided", "gru-strided", "max-fold"])
def test_exact_streams_give_the_batch_scores_and_explanations_bit_for_bit(scorers, name):
    x = np.random.default_rng(3).normal(size=(2 * 1024 + 500, 3)).astype(np.float32)  # > two batches of windows
    assert scorers[name].batch_size() == 1024
    whole, explained = scorers[name].score(x), scorers[name].feature_errors(x)
    for sizes in ([1], [5, 1000, 3, 77]):
        scorer, scores, contributions, begin, k = StreamScorer(scorers[name], exact=True, explain=True), [], [], 0, 0
        while begin < len(x):
            scores.append(scorer.update(x[begin : begin + sizes[k % len(sizes)]]))
            contributions.append(scorer.contributions)
            begin, k = begin + sizes[k % len(sizes)], k + 1
            assert len(scorer._rows) <= 1024 * scorer.stride + WINDOW  # at most a block of windows waits
        scores.append(scorer.finish())
        contributions.append(scorer.contributions)
        assert np.array_equal(np.concatenate(scores), whole)
        assert np.array_equal(np.concatenate(contributions), explained)

"""The alarm budget: false alarm events per steps of normal data, counted exactly or extrapolated from the tail."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconad import InputError
from reconad.thresholds import AlarmBudget, alarm_events, make_threshold, threshold_from_dict
from reconad.thresholds.tail import run_maxima

SCORES = np.array([0.0, 3, 3, 0, 5, 0, 0, 4])


def test_events_are_runs_of_flagged_steps():
    assert alarm_events(SCORES, 1.0) == 3  # [3, 3], [5], [4]
    assert alarm_events(SCORES, 3.0) == 2  # [5], [4]: a flag is strictly above the level
    assert alarm_events(SCORES, 5.0) == 0
    assert alarm_events([2.0, 2, 2], 1.0) == 1 and alarm_events([], 1.0) == 0
    np.testing.assert_array_equal(run_maxima(SCORES, 1.0), [3, 5, 4])
    np.testing.assert_array_equal(run_maxima(np.array([9.0, 1, 2, 8, 7]), 1.5), [9, 8])
    assert run_maxima(SCORES, 9.0).size == 0


def test_a_budget_the_calibration_holds_is_counted_exactly():
    # five copies of SCORES, 40 steps: a budget of 5 events per 40 steps allows exactly 5 events. Lowering the
    # level from the top flags the five 5s (5 events), then the 4s (10 events > 5): the level is 4.
    scores = np.tile(SCORES, 5)
    threshold = AlarmBudget(alarms=5, per=40).fit(scores)
    assert float(threshold) == 4.0 and alarm_events(scores, float(threshold)) == 5 and threshold.note_ is None
    # 10 allowed: the 5s and the 4s (10 events); the 3s would make 15
    assert float(AlarmBudget(alarms=10, per=40).fit(scores)) == 3.0
    # everything allowed: only the lowest score stays below the level
    assert float(AlarmBudget(alarms=40, per=40).fit(scores)) == 0.0


def test_a_rarer_budget_is_extrapolated_beyond_the_highest_score():
    rng = np.random.default_rng(0)
    scores = rng.exponential(size=3000)  # one alarm per 100,000 steps is rarer than 3,000 steps can show
    threshold = AlarmBudget(alarms=1, per=100_000).fit(scores)
    assert threshold.note_ is None and float(threshold) > scores.max()
    # an exponential tail: P(s > z) = exp(-z), so 1e-5 per step is z = 11.5; the fit lands near it
    assert 8 < float(threshold) < 16


def test_too_short_a_calibration_falls_back_to_the_highest_score_and_says_so():
    threshold = AlarmBudget(alarms=1).fit(np.arange(12.0))
    assert float(threshold) == 11.0 and "tail points" in threshold.note_


@pytest.mark.parametrize("kwargs, match", [
    (dict(alarms=0), "alarms must be a number > 0"),
    (dict(alarms=float("nan")), "alarms must be a number > 0"),
    (dict(per=0), "per must be a number of steps >= 1"),
    (dict(initial_quantile=1.0), "initial_quantile"),
])
def test_bad_budgets_are_refused(kwargs, match):
    with pytest.raises(InputError, match=match):
        AlarmBudget(**kwargs)


def test_the_budget_round_trips_and_is_registered():
    fitted = AlarmBudget(alarms=3, per=1000).fit(np.tile(SCORES, 200))
    again = threshold_from_dict(fitted.to_dict())
    assert again == fitted and float(again) == float(fitted)
    assert isinstance(make_threshold("alarm_budget"), AlarmBudget)


def _normal_series(rng, n: int, kind: str, width: int) -> np.ndarray:
    draws = {"exponential": rng.exponential(size=n), "gamma": rng.gamma(2.0, size=n),
             "half-normal": np.abs(rng.standard_normal(n)), "lognormal": rng.lognormal(0.0, 0.5, size=n)}[kind]
    return np.convolve(draws, np.ones(width) / width, mode="same")  # a detector's scores are smoothed


@settings(max_examples=12, deadline=None, derandomize=True)
@given(kind=st.sampled_from(["exponential", "gamma", "half-normal", "lognormal"]), width=st.integers(1, 9),
       alarms=st.sampled_from([1.0, 2.0, 5.0, 20.0, 50.0]), seed=st.integers(0, 2**16))
def test_the_realised_false_alarm_rate_stays_within_a_factor_of_four_of_the_budget(kind, width, alarms, seed):
    """Stated tolerance: with 20,000 calibration steps of stationary normal scores, the events raised on 200,000
    new steps of the same process lie within a factor of 4 of the budget (about 2 in practice)."""
    rng = np.random.default_rng(seed)
    threshold = AlarmBudget(alarms=alarms).fit(_normal_series(rng, 20_000, kind, width))
    realised = alarm_events(_normal_series(rng, 200_000, kind, width), float(threshold)) / 20  # per 10,000
    assert alarms / 4 <= realised <= alarms * 4, (realised, float(threshold), threshold.note_)

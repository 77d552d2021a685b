import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from reconad.errors import InputError
from reconad.thresholds import (
    POT,
    THRESHOLDS,
    Contamination,
    MeanStd,
    MedianMAD,
    Quantile,
    make_threshold,
    threshold_from_dict,
)
from reconad.thresholds.tail import gpd_quantile

N = 100_000


@pytest.fixture(scope="module")
def normal():
    return np.random.default_rng(0).standard_normal(N)


@pytest.fixture(scope="module")
def uniform():
    return np.random.default_rng(1).random(N)


def test_quantile_and_contamination_match_the_true_quantile(normal, uniform):
    # the sample 0.99-quantile of 100k draws is within ~0.02 (normal) / 0.001 (uniform) of the true one
    assert Quantile(0.99).fit(normal).value_ == pytest.approx(stats.norm.ppf(0.99), abs=0.03)
    assert Quantile(0.9).fit(uniform).value_ == pytest.approx(0.9, abs=0.005)
    assert Contamination(0.01).fit(normal).value_ == pytest.approx(stats.norm.ppf(0.99), abs=0.03)
    assert Contamination(0.05).fit(uniform).value_ == pytest.approx(0.95, abs=0.005)
    # the same rule in two parametrisations
    assert Contamination(0.02).fit(normal).value_ == Quantile(0.98).fit(normal).value_


def test_contamination_flags_its_rate_of_the_normal_scores(uniform):
    flagged = Contamination(0.03).fit(uniform).predict(uniform).mean()
    assert flagged == pytest.approx(0.03, abs=1e-4)


def test_mean_std_is_three_sigma_on_normal_data():
    x = np.random.default_rng(2).normal(loc=5.0, scale=2.0, size=N)
    assert MeanStd().fit(x).value_ == pytest.approx(5.0 + 3 * 2.0, abs=0.05)
    assert MeanStd(k=1.0).fit([1.0, 3.0]).value_ == pytest.approx(2.0 + 1.0)  # by hand: mean 2, std 1


def test_median_mad_by_hand():
    # median 3, |x - 3| = 2 1 0 1 97 -> MAD 1; 3 + 3.5 * 1.4826 * 1
    assert MedianMAD().fit([1, 2, 3, 4, 100]).value_ == pytest.approx(3 + 3.5 * 1.4826)
    assert MedianMAD(k=2).fit([1, 2, 3, 4, 100]).value_ == pytest.approx(3 + 2 * 1.4826)


def test_median_mad_is_robust_to_outliers_where_mean_std_is_not(normal):
    clean_mad = MedianMAD(k=3).fit(normal).value_
    clean_std = MeanStd(k=3).fit(normal).value_
    assert clean_mad == pytest.approx(3.0, abs=0.05) and clean_std == pytest.approx(3.0, abs=0.05)
    dirty = normal.copy()
    dirty[: N // 20] = 50.0  # 5% gross outliers left in the "normal" data
    assert MedianMAD(k=3).fit(dirty).value_ == pytest.approx(clean_mad, abs=0.3)
    assert MeanStd(k=3).fit(dirty).value_ > clean_std + 10


def test_median_mad_with_zero_mad_falls_back_and_says_so():
    scores = [1.0] * 9 + [2.0]  # MAD 0; mean |x - 1| = 0.1
    threshold = MedianMAD().fit(scores)
    assert threshold.value_ == pytest.approx(1.0 + 3.5 * 1.2533 * 0.1)
    assert "MAD is 0" in threshold.note_
    assert MedianMAD().fit([1.0, 2.0, 3.0]).note_ is None


@pytest.mark.parametrize(
    "dist",
    [stats.genpareto(c=0.2), stats.expon(), stats.genpareto(c=-0.2)],
    ids=["heavy-gpd", "exponential", "bounded-gpd"],
)
def test_pot_recovers_a_known_tail(dist):
    scores = dist.rvs(N, random_state=3)
    truth = dist.ppf(1 - 1e-3)
    threshold = POT(risk=1e-3).fit(scores)
    assert threshold.note_ is None
    assert threshold.value_ == pytest.approx(truth, rel=0.05)
    # it extrapolates beyond the sample: risk 1e-6 on 100k draws, where no empirical quantile exists
    assert POT(risk=1e-6).fit(scores).value_ == pytest.approx(dist.ppf(1 - 1e-6), rel=0.25)


def test_pot_formula_by_hand_and_its_exponential_limit():
    # gamma = 1, sigma = 2, t = 10, ratio 1/4: 10 + 2 * (4 - 1) = 16
    assert gpd_quantile(10.0, 1.0, 2.0, 0.25) == pytest.approx(16.0)
    # gamma -> 0 is an exponential tail: t + sigma * log(1 / ratio), and the formula is continuous there
    assert gpd_quantile(10.0, 0.0, 2.0, 0.25) == pytest.approx(10.0 + 2.0 * math.log(4.0))
    for gamma in (1e-6, -1e-6):
        assert gpd_quantile(10.0, gamma, 2.0, 0.25) == pytest.approx(gpd_quantile(10.0, 0.0, 2.0, 0.25), rel=1e-5)


def test_pot_on_normal_scores_is_close_to_the_normal_quantile(normal):
    assert POT(risk=1e-3).fit(normal).value_ == pytest.approx(stats.norm.ppf(1 - 1e-3), rel=0.05)


def test_pot_falls_back_to_the_highest_score_with_too_few_excesses():
    few = POT().fit(np.arange(100.0))  # 2 scores above the 0.98-quantile
    assert few.value_ == 99.0
    assert "only 2 of 100 scores" in few.note_
    flat = POT().fit(np.ones(1000))  # nothing above the initial threshold at all
    assert flat.value_ == 1.0 and "only 0 of 1000" in flat.note_


def test_pot_falls_back_to_the_quantile_when_ties_leave_the_risk_outside_the_tail():
    scores = np.r_[np.zeros(9_980), np.arange(1.0, 21.0)]  # 20 of 10k above t = 0: 0.2% in the tail
    threshold = POT(risk=0.005, initial_quantile=0.99).fit(scores)
    assert threshold.value_ == np.quantile(scores, 1 - 0.005)
    assert "not in the fitted tail" in threshold.note_


def test_every_threshold_round_trips_through_json(normal):
    for name in THRESHOLDS:
        fitted = make_threshold(name).fit(normal[:5000])
        data = json.loads(json.dumps(fitted.to_dict()))
        again = threshold_from_dict(data)
        assert type(again) is type(fitted) and again.name == name
        assert again.params() == fitted.params() and again.value_ == fitted.value_
        np.testing.assert_array_equal(again.predict(normal), fitted.predict(normal))
    noted = threshold_from_dict(json.loads(json.dumps(POT().fit(np.arange(10.0)).to_dict())))
    assert noted.note_ is not None and noted.note_.startswith("only")


def test_make_threshold_by_name_and_copy():
    assert isinstance(make_threshold("mean_std"), MeanStd)
    assert isinstance(make_threshold("median_mad"), MedianMAD)
    assert isinstance(make_threshold("contamination"), Contamination)
    assert isinstance(make_threshold("pot"), POT)
    copy = make_threshold(POT(risk=1e-4, initial_quantile=0.95))
    assert (copy.risk, copy.initial_quantile, copy.value_) == (1e-4, 0.95, None)
    assert make_threshold("quantile").q == 0.99  # the detector's default is unchanged
    with pytest.raises(InputError, match="mean_std"):
        make_threshold("sigma")


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Contamination(0.0), "rate"),
        (lambda: Contamination(0.6), "rate"),
        (lambda: MeanStd(k=-1), "k must"),
        (lambda: MeanStd(k=float("nan")), "k must"),
        (lambda: MedianMAD(k="3"), "k must"),
        (lambda: POT(risk=0.0), "risk"),
        (lambda: POT(risk=0.05), "risk"),  # not above the default initial quantile 0.98
        (lambda: POT(initial_quantile=1.0), "initial_quantile"),
        (lambda: Quantile(1.0), "q must"),
    ],
)
def test_bad_parameters_are_input_errors(build, message):
    with pytest.raises(InputError, match=message):
        build()


@pytest.mark.parametrize("name", sorted(THRESHOLDS))
def test_nan_empty_and_unfitted_are_input_errors(name):
    with pytest.raises(InputError, match="NaN"):
        make_threshold(name).fit([0.1, float("nan"), 0.3])
    with pytest.raises(InputError, match="no scores"):
        make_threshold(name).fit([])
    with pytest.raises(InputError, match="not fitted"):
        make_threshold(name).predict([0.1, 0.2])


def test_bad_saved_threshold_is_an_input_error():
    with pytest.raises(InputError, match="invalid threshold"):
        threshold_from_dict({"name": "pot", "params": {"risk": 2.0}, "value": 1.0})
    with pytest.raises(InputError, match="invalid threshold"):
        threshold_from_dict({"name": "nope", "params": {}, "value": 1.0})


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


@given(st.lists(finite, min_size=1, max_size=200), st.floats(min_value=0.01, max_value=0.99))
def test_quantile_flags_at_most_its_share_of_the_sample(sample, q):
    x = np.array(sample)
    flagged = Quantile(q).fit(x).predict(x).mean()
    assert flagged <= 1 - q + 1 / x.size + 1e-12


@given(st.lists(finite, min_size=1, max_size=200))
def test_every_threshold_gives_a_finite_value_on_any_finite_sample(sample):
    for name in THRESHOLDS:
        threshold = make_threshold(name).fit(sample)
        assert np.isfinite(threshold.value_)


def test_float_of_a_threshold_is_its_fitted_value():
    threshold = MeanStd(k=2)
    with pytest.raises(InputError, match=r"not fitted; call fit\(scores_of_normal_data\)"):
        float(threshold)
    threshold.fit([1.0, 2.0, 3.0])
    assert float(threshold) == threshold.value_ == pytest.approx(2.0 + 2 * np.std([1.0, 2.0, 3.0]))
    assert threshold.predict([2.0, 3.0, 4.0]).tolist() == [0, 0, 1]  # strictly above the value


def test_the_batch_relative_threshold_is_gone():
    assert "batch_split" not in THRESHOLDS
    with pytest.raises(InputError, match="unknown threshold 'batch_split'"):
        make_threshold("batch_split")
    with pytest.raises(InputError, match="invalid threshold description"):
        threshold_from_dict({"name": "batch_split", "params": {"k": 2.0}, "value": 1.0})


def test_a_detector_with_a_threshold_object_flags_above_its_value_and_saves_it(tmp_path):
    from reconad import SeriesDetector, load

    rng = np.random.default_rng(0)
    t = np.arange(1400)
    x = np.stack([np.sin(t / 9.0), np.cos(t / 13.0)], axis=1) + 0.05 * rng.standard_normal((1400, 2))
    test = x[600:].copy()
    test[500:560] += 40.0  # a fault far above everything else
    params = dict(window=20, epochs=3, random_state=0, verbose=False)
    default = SeriesDetector(**params).fit(x[:600])
    robust = SeriesDetector(threshold=MedianMAD(k=6.0), **params).fit(x[:600])
    scores = robust.anomaly_score(test)
    np.testing.assert_array_equal(scores, default.anomaly_score(test))  # the threshold never changes the scores
    assert float(robust.threshold_) != float(default.threshold_)
    np.testing.assert_array_equal(robust.predict(test), (scores > float(robust.threshold_)).astype(np.int8))
    assert robust.predict(test)[500:560].all()
    robust.save(tmp_path / "robust.reconad")
    again = load(tmp_path / "robust.reconad")
    assert isinstance(again.threshold_, MedianMAD) and again.threshold_.k == 6.0
    assert isinstance(again.threshold, MedianMAD) and float(again.threshold_) == float(robust.threshold_)
    np.testing.assert_array_equal(again.predict(test), robust.predict(test))

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
    BatchSplit,
    Contamination,
    MeanStd,
    MedianMAD,
    Quantile,
    _gpd_quantile,
    make_threshold,
    otsu_cut,
    threshold_from_dict,
)

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
    assert _gpd_quantile(10.0, 1.0, 2.0, 0.25) == pytest.approx(16.0)
    # gamma -> 0 is an exponential tail: t + sigma * log(1 / ratio), and the formula is continuous there
    assert _gpd_quantile(10.0, 0.0, 2.0, 0.25) == pytest.approx(10.0 + 2.0 * math.log(4.0))
    for gamma in (1e-6, -1e-6):
        assert _gpd_quantile(10.0, gamma, 2.0, 0.25) == pytest.approx(_gpd_quantile(10.0, 0.0, 2.0, 0.25), rel=1e-5)


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


@pytest.mark.parametrize(
    "values, cut",
    [
        ([1, 2, 10, 11], 6.0),  # two clear groups: the midpoint between them
        ([11, 1, 10, 2], 6.0),  # order does not matter
        ([1, 1, 5], 3.0),
        ([0, 0, 0, 9, 9, 10], 4.5),
        ([3, 3, 3], -math.inf),  # one distinct value: no split
        ([7], -math.inf),
    ],
)
def test_otsu_cut_by_hand(values, cut):
    assert otsu_cut(values) == cut


@given(st.lists(st.integers(-50, 50), min_size=2, max_size=40))
def test_otsu_cut_leaves_the_least_squared_spread_inside_the_two_groups(values):
    v = np.array(values, dtype=float)
    cut = otsu_cut(v)
    distinct = np.unique(v)
    if distinct.size < 2:
        assert cut == -math.inf
        return

    def within(c):  # squared deviations of each group from its own mean
        return sum(((g - g.mean()) ** 2).sum() for g in (v[v <= c], v[v > c]) if g.size)

    assert v.min() < cut < v.max()
    candidates = (distinct[:-1] + distinct[1:]) / 2
    assert within(cut) <= min(within(c) for c in candidates) + 1e-6


def test_batch_split_leaves_a_moderately_raised_stretch_unflagged():
    rng = np.random.default_rng(0)
    normal = 1.0 + 0.1 * rng.standard_normal(400)
    threshold = BatchSplit(k=2).fit(normal)
    assert threshold.value_ == pytest.approx(normal.mean() + 2 * normal.std())
    batch = np.concatenate([
        1.0 + 0.1 * rng.standard_normal(300),  # normal rows
        3.0 + 0.1 * rng.standard_normal(100),  # the state after a fault: above the floor, far below the fault
        1000.0 * (1 + 0.1 * rng.random(100)),  # the fault
    ])
    flags = threshold.predict(batch)
    assert flags[400:].all() and not flags[300:400].any()
    assert 3.5 < threshold.level(batch) < 900 and MeanStd(k=2).fit(normal).level(batch) == threshold.value_
    assert MeanStd(k=2).fit(normal).predict(batch)[300:].all()  # a fixed threshold flags the raised stretch too
    # a batch without the fault, or of one step, is held to the floor alone
    assert threshold.predict(batch[:400])[300:].mean() > 0.5
    assert threshold.predict(batch[350:351]).tolist() == [1]


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=100), st.lists(st.floats(0, 1e6), min_size=1, max_size=100))
def test_batch_split_flags_a_subset_of_its_floor(normal, batch):
    split = BatchSplit(k=2).fit(normal)
    floor = MeanStd(k=2).fit(normal)
    assert split.value_ == floor.value_
    flags, fixed = split.predict(batch), floor.predict(batch)
    assert flags.dtype == np.int8 and np.all(flags <= fixed)
    level = split.level(batch)  # the level it flags above: the floor or the batch's split, whichever is higher
    assert level >= split.value_
    b = np.asarray(batch)
    assert not flags[b <= level].any() and flags[b > level * (1 + 1e-9)].all()


def test_a_detector_with_batch_split_flags_a_subset_of_the_defaults_and_saves_it(tmp_path):
    from reconad import SeriesDetector, load

    rng = np.random.default_rng(0)
    t = np.arange(1400)
    x = np.stack([np.sin(t / 9.0), np.cos(t / 13.0)], axis=1) + 0.05 * rng.standard_normal((1400, 2))
    test = x[600:].copy()
    test[300:400, 0] += 0.6  # a state raised a little above normal ...
    test[500:560] += 40.0  # ... and a fault far above both
    params = dict(epochs=5, random_state=0, verbose=False)
    default = SeriesDetector(**params).fit(x[:600])
    split = SeriesDetector(threshold=BatchSplit(), **params).fit(x[:600])
    assert split.threshold_.value_ == pytest.approx(default.threshold_.value_)  # the same floor: mean + 4 std
    fixed, relative = default.predict(test), split.predict(test)
    assert np.all(relative <= fixed) and relative[500:560].all()
    assert fixed[300:400].mean() > 0.5 and relative[300:400].mean() < 0.1
    from reconad.report import series_report

    html, _ = series_report(split, test, split.anomaly_score(test), relative, data_info={"name": "t"},
                            fingerprint="f")
    level = split.threshold_.level(split.anomaly_score(test))
    assert level > split.threshold_.value_ and f"threshold {level:.4g}" in html and "split above the floor" in html
    split.save(tmp_path / "split.reconad")
    again = load(tmp_path / "split.reconad")
    assert isinstance(again.threshold_, BatchSplit)
    np.testing.assert_array_equal(again.predict(test), relative)

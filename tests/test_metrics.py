import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconad.errors import InputError
from reconad.metrics import (
    auprc,
    oracle_best_f1,
    oracle_best_f1_grid,
    point_f1,
    point_prf,
    regions,
    regions_to_labels,
    roc_auc,
)

Y = [0, 0, 1, 1]
S = [0.1, 0.4, 0.35, 0.8]


def test_point_prf_by_hand():
    # TP = 2 (steps 1, 4), FP = 1 (step 0), FN = 1 (step 2)
    prf = point_prf([0, 1, 1, 0, 1], [1, 1, 0, 0, 1])
    assert (prf.precision, prf.recall, prf.f1) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert point_f1([0, 1, 1, 0], [0, 0, 0, 0]) == 0.0  # nothing flagged
    assert point_prf([0, 1, 1, 0], [1, 1, 1, 1]).precision == pytest.approx(0.5)  # everything flagged


def test_ranking_metrics_by_hand():
    # ranked by score: 0.8 (+), 0.4 (-), 0.35 (+), 0.1 (-)
    # AP = 0.5 * 1 + 0.5 * 2/3; ROC-AUC = 3 of 4 (positive, negative) pairs ordered correctly
    assert auprc(Y, S) == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert roc_auc(Y, S) == pytest.approx(0.75)
    assert np.isnan(roc_auc([0, 0], [0.1, 0.2])) and np.isnan(auprc([0, 0], [0.1, 0.2]))


def test_exact_oracle_by_hand():
    # thresholds 0.8 -> F1 2/3, 0.4 -> 1/2, 0.35 -> P 2/3, R 1 -> 0.8, 0.1 -> 2/3
    best = oracle_best_f1(Y, S)
    assert best.f1 == pytest.approx(0.8)
    assert best.threshold == pytest.approx(0.35)
    assert (best.precision, best.recall) == pytest.approx((2 / 3, 1.0))


def test_notebook_grid_oracle_by_hand():
    score = np.arange(10.0)  # p50 = 4.5, p99 = 8.91
    y = (score >= 8).astype(int)
    best = oracle_best_f1_grid(y, score)
    assert best.f1 == pytest.approx(1.0)
    # the first grid threshold above 7 is k = 567: 4.5 + 567 * (8.91 - 4.5) / 1000
    assert best.threshold == pytest.approx(4.5 + 567 * 4.41 / 1000)
    # with only 10 steps the grid cannot reach a threshold below p50: F1 is capped where positives sit low
    low = oracle_best_f1_grid((score <= 1).astype(int), score)
    assert low.f1 == 0.0


def test_label_length_mismatch_is_an_input_error():
    with pytest.raises(InputError, match="one per step"):
        auprc([0, 1], [0.1, 0.2, 0.3])


@given(st.lists(st.tuples(st.integers(0, 1), st.floats(0, 1)), min_size=2, max_size=50), st.floats(0, 1))
def test_oracles_bound_every_threshold(pairs, t):
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs])
    best = oracle_best_f1(y, s).f1
    assert point_f1(y, s >= t) <= best + 1e-12
    assert oracle_best_f1_grid(y, s).f1 <= best + 1e-12


def test_regions_by_hand_including_the_notebooks_two_failures():
    # the series starts inside a region, and a one-point region in the middle
    assert regions([1, 1, 0, 0, 1, 0, 1, 1]) == [(0, 2), (4, 5), (6, 8)]
    assert regions([0, 1, 0]) == [(1, 2)]
    assert regions([0, 0, 0]) == []
    assert regions([1, 1, 1]) == [(0, 3)]
    assert regions([1]) == [(0, 1)]


@given(st.lists(st.integers(0, 1), max_size=80))
def test_regions_round_trip(labels):
    spans = regions(labels)
    np.testing.assert_array_equal(regions_to_labels(spans, len(labels)), np.array(labels, dtype=np.int8))
    for (s0, e0), (s1, _) in zip(spans, spans[1:]):
        assert s0 < e0 < s1  # ordered, non-empty, separated by at least one normal step

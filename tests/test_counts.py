"""Confusion counts, rates and the oracle counts at a false-alarm rate, against hand-computed tables."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconad.errors import InputError
from reconad.metrics import confusion, oracle_confusion_at_far, oracle_confusion_pooled_far, pooled_counts, rates


def test_confusion_and_rates_by_hand():
    c = confusion(np.array([1, 1, 0, 0, 0, 1]), np.array([1, 0, 1, 0, 0, 1]))
    assert c == {"tp": 2, "fp": 1, "fn": 1, "tn": 2}
    r = rates(c)
    assert r["precision"] == pytest.approx(2 / 3) and r["recall"] == pytest.approx(2 / 3)
    assert r["f1"] == pytest.approx(2 / 3) and r["far"] == pytest.approx(1 / 3) and r["mar"] == pytest.approx(1 / 3)
    assert rates({"tp": 0, "fp": 0, "fn": 0, "tn": 0}) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "far": 0.0,
                                                           "mar": 0.0}
    assert pooled_counts([c, c]) == {"tp": 4, "fp": 2, "fn": 2, "tn": 4}
    with pytest.raises(InputError, match="labels have 2 values but prediction has 3"):
        confusion(np.array([1, 0]), np.array([1, 0, 1]))


@pytest.mark.parametrize(
    "labels, scores, far, expected",
    [
        # 10 normal rows scored 0..9, FAR 10% allows 1 of them: threshold 8, so 9 and the anomalies above 8 flag
        ([0] * 10 + [1, 1, 1], list(range(10)) + [8.5, 12, 3], 0.10, {"tp": 2, "fp": 1, "fn": 1, "tn": 9}),
        # FAR 0: above the highest normal score only
        ([0] * 10 + [1, 1, 1], list(range(10)) + [8.5, 12, 3], 0.0, {"tp": 1, "fp": 0, "fn": 2, "tn": 10}),
        # ties at the threshold stay unflagged, so the allowance is never exceeded
        ([0, 0, 0, 0, 1], [5, 5, 5, 5, 6], 0.5, {"tp": 1, "fp": 0, "fn": 0, "tn": 4}),
        # no normal rows, or a rate that allows all of them: everything is flagged
        ([0, 0, 1], [1, 2, 0], 1.0, {"tp": 1, "fp": 2, "fn": 0, "tn": 0}),
        ([1, 1], [0.1, 0.2], 0.1, {"tp": 2, "fp": 0, "fn": 0, "tn": 0}),
    ],
)
def test_oracle_confusion_at_far_by_hand(labels, scores, far, expected):
    assert oracle_confusion_at_far(np.array(labels), np.array(scores, dtype=float), far) == expected


@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 20)), min_size=1, max_size=60),
    st.sampled_from([0.0, 0.05, 0.1, 0.3, 1.0]),
)
def test_oracle_at_far_never_exceeds_the_rate_and_no_threshold_within_it_finds_more(rows, far):
    labels = np.array([r[0] for r in rows])
    scores = np.array([r[1] for r in rows], dtype=float)
    c = oracle_confusion_at_far(labels, scores, far)
    normals = int((~labels).sum())
    assert c["tp"] + c["fn"] == labels.sum() and c["fp"] + c["tn"] == normals
    if normals:
        assert c["fp"] <= far * normals
        for t in [-np.inf, *np.unique(scores)]:  # every threshold that keeps within the allowance finds no more
            if ((scores > t) & ~labels).sum() <= far * normals:
                assert ((scores > t) & labels).sum() <= c["tp"]


@pytest.mark.parametrize(
    "files, far, expected",
    [
        # B's anomalies (3, 4) sit under two of its normal rows: 10% of each file's normal rows (the per-file
        # oracle) cannot reach them, but the pooled allowance floor(0.35 * 6) = 2 spent in B finds both
        ([([0, 0, 1, 1], [1, 2, 3, 4]), ([0, 0, 0, 0, 1, 1], [5, 6, 1, 2, 3, 4])], 0.35,
         {"tp": 4, "fp": 2, "fn": 0, "tn": 4}),
        # with an allowance of one false alarm, B's anomalies are out of reach: A alone, no false alarm spent
        ([([0, 0, 1, 1], [1, 2, 3, 4]), ([0, 0, 0, 0, 1, 1], [5, 6, 1, 2, 3, 4])], 0.2,
         {"tp": 2, "fp": 0, "fn": 2, "tn": 6}),
        # a tie flags together: the anomaly costs the tied normal row, which FAR 50% of one row does not allow
        ([([0, 1], [5, 5])], 0.5, {"tp": 0, "fp": 0, "fn": 1, "tn": 1}),
        ([([0, 1], [5, 5])], 1.0, {"tp": 1, "fp": 1, "fn": 0, "tn": 0}),
        # false alarms that buy no more recall would only lower F1: the allowance of two stays unspent ...
        ([([0, 0, 0, 1], [9, 8, 1, 10])], 0.7, {"tp": 1, "fp": 0, "fn": 0, "tn": 3}),
        # ... but spent when they do: two false alarms for the one anomaly (F1 0.5) beat finding nothing
        ([([0, 0, 0, 1], [9, 8, 1, 2])], 0.7, {"tp": 1, "fp": 2, "fn": 0, "tn": 1}),
    ],
)
def test_oracle_confusion_pooled_far_by_hand(files, far, expected):
    labels = [np.array(y) for y, _ in files]
    scores = [np.array(s, dtype=float) for _, s in files]
    assert oracle_confusion_pooled_far(labels, scores, far) == expected


def test_oracle_pooled_far_refuses_mismatched_files():
    with pytest.raises(InputError, match="labels have 2 values but score has 3"):
        oracle_confusion_pooled_far([np.array([0, 1])], [np.array([0.1, 0.2, 0.3])])
    with pytest.raises(InputError, match="labels hold 1 files but scores 2"):
        oracle_confusion_pooled_far([np.array([0, 1])], [np.array([0.1, 0.2]), np.array([0.3, 0.4])])


@given(
    st.lists(st.lists(st.tuples(st.booleans(), st.integers(0, 4)), min_size=1, max_size=5), min_size=1, max_size=3),
    st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0]),
)
def test_oracle_pooled_far_is_the_best_of_every_per_file_threshold_choice(files, far):
    labels = [np.array([r[0] for r in f]) for f in files]
    scores = [np.array([r[1] for r in f], dtype=float) for f in files]
    c = oracle_confusion_pooled_far(labels, scores, far)
    normals = sum(int((~y).sum()) for y in labels)
    assert c["tp"] + c["fn"] == sum(int(y.sum()) for y in labels) and c["fp"] + c["tn"] == normals
    assert c["fp"] <= far * normals
    best = 0.0  # brute force: every combination of one threshold per file within the pooled allowance
    for ts in itertools.product(*[[-np.inf, *np.unique(s)] for s in scores]):
        counts = [confusion(y, s > t) for y, s, t in zip(labels, scores, ts)]
        if sum(k["fp"] for k in counts) <= far * normals:
            best = max(best, rates(pooled_counts(counts))["f1"])
    assert rates(c)["f1"] == pytest.approx(best)
    per_file = [oracle_confusion_at_far(y, s, far) for y, s in zip(labels, scores)]
    assert rates(c)["f1"] >= rates(pooled_counts(per_file))["f1"] - 1e-12

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

from reconad.errors import InputError
from reconad.metrics import (
    EventPRF,
    auprc,
    detection_delays,
    event_f1,
    event_prf,
    point_adjust,
    point_adjusted_f1,
    point_f1,
    point_prf,
    range_auc_pr,
    regions,
    vus_pr,
)
from reconad.metrics.events import N_THRESHOLDS, default_max_buffer

# --- event precision / recall / F1 -------------------------------------------------------------------------

EVENT_TABLE = [
    # y_true, y_pred, (precision, recall), (events, found, alarms, true_alarms)
    # events [1,3) found, [5,6) missed; alarm [2,3) true, [6,8) false
    ([0, 1, 1, 0, 0, 1, 0, 0], [0, 0, 1, 0, 0, 0, 1, 1], (1 / 2, 1 / 2), (2, 1, 2, 1)),
    # nothing flagged: 0 where undefined
    ([0, 1, 1, 0], [0, 0, 0, 0], (0.0, 0.0), (1, 0, 0, 0)),
    # everything flagged: one alarm run that touches every event, so event P = R = 1 (point F1 would be 0.75)
    ([0, 1, 1, 0, 1], [1, 1, 1, 1, 1], (1.0, 1.0), (2, 2, 1, 1)),
    # one-point events at the start, middle and end; the alarm at 4 is next to the event at 3, not on it
    ([1, 0, 0, 1, 0, 0, 0, 1], [1, 0, 0, 0, 1, 0, 0, 1], (2 / 3, 2 / 3), (3, 2, 3, 2)),
    # a four-step false alarm counts once, not four times
    ([0, 0, 0, 0, 0, 1, 1, 0], [1, 1, 1, 1, 0, 1, 0, 0], (1 / 2, 1.0), (1, 1, 2, 1)),
    # one alarm over two events: both found, one true alarm
    ([1, 1, 0, 1, 1], [1, 1, 1, 1, 1], (1.0, 1.0), (2, 2, 1, 1)),
    # no events: every alarm is false; recall is undefined, so 0
    ([0, 0, 0, 0], [0, 1, 1, 0], (0.0, 0.0), (0, 0, 1, 0)),
    ([0, 0, 0], [0, 0, 0], (0.0, 0.0), (0, 0, 0, 0)),
]


@pytest.mark.parametrize("y, pred, pr, counts", EVENT_TABLE)
def test_event_prf_by_hand(y, pred, pr, counts):
    got = event_prf(y, pred)
    precision, recall = pr
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    assert (got.precision, got.recall, got.f1) == pytest.approx((precision, recall, f1))
    assert (got.events, got.found, got.alarms, got.true_alarms) == counts
    assert event_f1(y, pred) == pytest.approx(f1)
    assert isinstance(got, EventPRF)


def test_event_recall_is_not_bounded_below_by_point_recall():
    # a missed one-step event and a long event found at 8 of 9 steps: point recall 8/9, event recall 1/2
    y = [1, 0, 1, 1, 1, 1, 1, 1, 1, 1]
    pred = [0, 0, 1, 1, 1, 1, 1, 1, 1, 1]
    assert point_prf(y, pred).recall == pytest.approx(8 / 9)
    assert event_prf(y, pred).recall == pytest.approx(1 / 2)


# --- detection delays --------------------------------------------------------------------------------------

DELAY_TABLE = [
    # y_true, y_pred, delays
    # event [1,4) first flagged at 3 (2 steps in); event [6,8) missed; the flag at 5 is before it, not in it
    ([0, 1, 1, 1, 0, 0, 1, 1, 0], [0, 0, 0, 1, 0, 1, 0, 0, 0], [2, None]),
    # an alarm that starts before the event and runs into it: delay 0
    ([0, 0, 1, 1, 1], [1, 1, 1, 0, 0], [0]),
    # one-point events at both ends, the first hit, the last missed
    ([1, 0, 0, 0, 1], [1, 0, 0, 1, 0], [0, None]),
    # a flag only on the event's last step
    ([1, 1, 1, 1], [0, 0, 0, 1], [3]),
    ([0, 0, 0], [1, 1, 1], []),  # no events
]


@pytest.mark.parametrize("y, pred, delays", DELAY_TABLE)
def test_detection_delays_by_hand(y, pred, delays):
    assert detection_delays(y, pred) == delays


@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=1, max_size=60))
def test_detection_delays_point_at_each_events_first_flag(pairs):
    y = np.array([p[0] for p in pairs])
    pred = np.array([p[1] for p in pairs])
    delays = detection_delays(y, pred)
    events = regions(y)
    assert len(delays) == len(events)
    assert sum(d is not None for d in delays) == event_prf(y, pred).found
    for (start, end), delay in zip(events, delays):
        if delay is None:
            assert not pred[start:end].any()
        else:
            assert 0 <= delay < end - start and pred[start + delay] == 1 and not pred[start : start + delay].any()


# --- point-adjusted F1 -------------------------------------------------------------------------------------

PA_TABLE = [
    # y_true, y_pred, point-adjusted F1, plain point F1
    # event [1,4) hit once -> 3 TP; event [6,8) missed; FP at 5: P 3/4, R 3/5 (plain: P 1/2, R 1/5)
    ([0, 1, 1, 1, 0, 0, 1, 1, 0, 0], [0, 0, 1, 0, 0, 1, 0, 0, 0, 0], 2 / 3, 2 / 7),
    ([0, 1, 1, 0], [0, 0, 0, 0], 0.0, 0.0),  # nothing flagged
    ([0, 1, 1, 0], [1, 1, 1, 1], 2 / 3, 2 / 3),  # everything flagged: nothing left to adjust
    ([1, 1, 0, 0, 1, 1], [0, 1, 0, 0, 1, 0], 1.0, 2 / 3),  # events touching the start and the end
    ([0, 1, 0, 1], [0, 1, 0, 0], 2 / 3, 2 / 3),  # one-point events: nothing to adjust
]


@pytest.mark.parametrize("y, pred, adjusted_f1, plain_f1", PA_TABLE)
def test_point_adjusted_f1_by_hand(y, pred, adjusted_f1, plain_f1):
    assert point_adjusted_f1(y, pred) == pytest.approx(adjusted_f1)
    assert point_f1(y, pred) == pytest.approx(plain_f1)


def test_point_adjust_fills_hit_events_only():
    y = [1, 1, 0, 1, 1, 1, 0, 1]
    pred = [0, 1, 1, 0, 0, 0, 0, 1]
    np.testing.assert_array_equal(point_adjust(y, pred), [1, 1, 1, 0, 0, 0, 0, 1])


def test_point_adjusted_f1_warns_in_its_docstring():
    assert "INFLATES" in point_adjusted_f1.__doc__ and "point_f1" in point_adjusted_f1.__doc__


@pytest.mark.parametrize("metric", [event_prf, point_adjusted_f1, point_adjust, detection_delays])
def test_bad_predictions_are_input_errors(metric):
    with pytest.raises(InputError, match="one per step"):
        metric([0, 1, 1], [0, 1])
    with pytest.raises(InputError, match="0 \\(normal\\) or 1"):
        metric([0, 1, 1], [0, 0.5, 1])
    with pytest.raises(InputError, match="labels must be"):
        metric([0, 2, 1], [0, 1, 1])


# --- range-AUC-PR and VUS-PR -------------------------------------------------------------------------------

A = math.sqrt(0.75)  # buffer weight at distance 1 for buffer 4
B = math.sqrt(0.5)  # buffer weight at distance 2 for buffer 4, or distance 1 for buffer 2


def test_range_auc_pr_without_buffer_one_event_is_average_precision():
    # ranks: step 3 (false), 1 (event), 2 (event): recall 0 -> 1/2 at precision 1/2 -> 1 at precision 2/3
    y, s = [0, 1, 1, 0, 0, 0], [0.1, 0.8, 0.7, 0.9, 0.2, 0.3]
    assert range_auc_pr(y, s, 0) == pytest.approx(0.5 * 0.5 + 0.5 * 2 / 3)
    assert range_auc_pr(y, s, 0) == pytest.approx(auprc(y, s))


def test_range_auc_pr_rewards_finding_every_event():
    # ranks: 3 (+), 4 (+), 2 (-), 0 (+): AUPRC 11/12, but the first two hits find only one of two events,
    # so range recall is 1/3 * 1/2 and 2/3 * 1/2 there: 1/6 * 1 + 1/6 * 1 + 0 + 2/3 * 3/4 = 5/6
    y, s = [1, 0, 0, 1, 1, 0], [0.5, 0.1, 0.6, 0.9, 0.8, 0.3]
    assert auprc(y, s) == pytest.approx(11 / 12)
    assert range_auc_pr(y, s, 0) == pytest.approx(5 / 6)


def test_range_auc_pr_gives_partial_credit_in_the_buffer():
    # the top score is one step before the event: worth sqrt(1 - 1/2) with buffer 2, nothing without
    y, s = [0, 0, 1, 0, 0], [0.1, 0.9, 0.8, 0.2, 0.3]
    assert range_auc_pr(y, s, 0) == pytest.approx(0.5)  # a false alarm, then the event at precision 1/2
    assert range_auc_pr(y, s, 1) == pytest.approx(0.5)  # buffer 1 has no room: 1 // 2 = 0 steps per side
    r1 = B / (1 + B / 2)  # TP = B, P_l = 1 + B / 2
    expected = r1 * B + (1 - r1) * (1 + B) / 2  # then recall min((1 + B) / (1 + B / 2), 1) = 1
    assert range_auc_pr(y, s, 2) == pytest.approx(expected)
    assert vus_pr(y, s, max_buffer=2) == pytest.approx((0.5 + 0.5 + expected) / 3)


def test_range_auc_pr_event_at_the_series_end():
    # buffer 4 puts steps 2 (weight A) and 1 (weight B) before the event [3, 5); nothing after the end
    y, s = [0, 0, 0, 1, 1], [0.1, 0.2, 0.9, 0.5, 0.4]
    r1 = A / (2 + A / 2)  # step 2 only
    r2 = (1 + A) / (2 + A / 2)  # + step 3; then step 4 brings recall to 1
    expected = r1 * A + (r2 - r1) * (1 + A) / 2 + (1 - r2) * (2 + A) / 3
    assert range_auc_pr(y, s, 4) == pytest.approx(expected)


def test_events_whose_buffers_overlap_count_as_one_for_existence():
    # events at 1 and 4; with buffer 4 their ranges [0, 3] and [2, 5] overlap and are merged
    y = [0, 1, 0, 0, 1, 0]
    s = [0.8, 0.9, 0.3, 0.4, 0.7, 0.1]  # order: 1 (+), 0 (in the buffer, weight A), 4 (+)
    without = 0.25 * 1 + 0.75 * 2 / 3  # existence 1/2 until the second event is flagged
    assert range_auc_pr(y, s, 0) == pytest.approx(without)
    r2 = (1 + A) / (2 + A / 2)
    merged = 0.5 * 1 + (r2 - 0.5) * (1 + A) / 2 + (1 - r2) * (2 + A) / 3  # existence 1 from the first flag
    assert range_auc_pr(y, s, 4) == pytest.approx(merged)


@pytest.mark.parametrize("buffer", [0, 1, 2, 5, 9])
def test_a_perfect_score_gives_one(buffer):
    y = np.array([1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1])  # events at both ends and a one-step event
    assert range_auc_pr(y, y * 1.0, buffer) == pytest.approx(1.0)
    assert vus_pr(y, y + 0.01 * np.arange(12), max_buffer=buffer) == pytest.approx(1.0)


def test_a_constant_score_gives_the_soft_base_rate():
    y = [0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    s = np.full(10, 0.3)
    assert range_auc_pr(y, s, 0) == pytest.approx(1 / 10)
    # buffer 4: step 0 (A), step 2 (A), step 3 (B); step -1 is off the series
    assert range_auc_pr(y, s, 4) == pytest.approx((1 + 2 * A + B) / 10)


def test_default_max_buffer_is_twice_the_median_event_length():
    y = np.zeros(40, dtype=int)
    y[0:2], y[10:14], y[30:40] = 1, 1, 1
    assert default_max_buffer(y) == 8
    s = np.random.default_rng(0).random(40)
    assert vus_pr(y, s) == pytest.approx(vus_pr(y, s, max_buffer=8))
    assert vus_pr(y, s) == pytest.approx(np.mean([range_auc_pr(y, s, b) for b in range(9)]))


def test_no_events_gives_nan_and_bad_input_is_an_input_error():
    assert math.isnan(vus_pr([0, 0, 0], [0.1, 0.2, 0.3], max_buffer=2))
    assert math.isnan(range_auc_pr([0, 0, 0], [0.1, 0.2, 0.3], 0))
    with pytest.raises(InputError, match="buffer must be"):
        range_auc_pr([0, 1], [0.1, 0.2], -1)
    with pytest.raises(InputError, match="max_buffer must be"):
        vus_pr([0, 1], [0.1, 0.2], max_buffer=2.5)
    with pytest.raises(InputError, match="NaN"):
        vus_pr([0, 1], [0.1, float("nan")])
    with pytest.raises(InputError, match="one per step"):
        vus_pr([0, 1, 0], [0.1, 0.2])


def test_vus_pr_matches_the_authors_algorithm_on_aeons_fixture():
    # aeon's VUS test fixture. The expected numbers come from a line-by-line transcription of the authors'
    # RangeAUC_volume_opt (TheDatumOrg/VUS vus/utils/metrics.py, as in TSB-AD); it agreed with vus_pr to
    # 2e-16 on 300 random series. aeon itself reports 0.3738 / 0.2506 / 0.7493 here: it implements the
    # authors' older per-buffer variant (trapezoidal PR area, soft positives counted whether flagged or not).
    y = np.zeros(200)
    y[10:20], y[28:33], y[110:120] = 1, 1, 1
    s = np.random.default_rng(41).random(200) * 0.5
    s[16:22], s[33:38], s[160:170] = 1, 1, 1
    assert range_auc_pr(y, s, 10) == pytest.approx(0.3973939889693363, abs=1e-12)
    assert range_auc_pr(y, s, 4) == pytest.approx(0.25413833240484257, abs=1e-12)
    assert vus_pr(y, s, max_buffer=200) == pytest.approx(0.728982668075438, abs=1e-12)


def _reference_range_ap(y, s, buffer):
    """The definition in range_auc_pr's docstring, step by step and with loops (slow, for the test only)."""
    y, s = np.asarray(y), np.asarray(s, dtype=float)
    spans = [(start, end - 1) for start, end in regions(y)]
    half = buffer // 2
    soft = y.astype(float)
    for start, last in spans:
        for d in range(1, half + 1):
            for t in (start - d, last + d):
                if 0 <= t < len(y):
                    soft[t] += math.sqrt(1 - d / buffer)
    soft = np.minimum(soft, 1.0)
    ranges = []  # extended ranges, merged when they overlap
    for start, last in spans:
        lo, hi = max(start - half, 0), min(last + half, len(y) - 1)
        if ranges and ranges[-1][1] >= start - half:
            ranges[-1][1] = hi
        else:
            ranges.append([lo, hi])
    descending = sorted(s, reverse=True)
    area, previous = 0.0, 0.0
    for j in range(N_THRESHOLDS):
        flagged = s >= descending[int(j * (len(s) - 1) / (N_THRESHOLDS - 1))]
        tp = sum(soft[t] for t in range(len(y)) if flagged[t])
        buffer_hit = sum(soft[t] for t in range(len(y)) if flagged[t] and y[t] == 0)
        found = sum(flagged[lo : hi + 1].any() for lo, hi in ranges)
        recall = min(tp / (y.sum() + buffer_hit / 2), 1.0) * found / len(ranges)
        area += (recall - previous) * tp / flagged.sum()
        previous = recall
    return area


labels = st.lists(st.integers(0, 1), min_size=2, max_size=40).filter(lambda y: 0 < sum(y))
tied_scores = st.lists(st.integers(0, 6), min_size=40, max_size=40)


@settings(max_examples=40, deadline=None)
@given(labels, tied_scores, st.integers(0, 7))
def test_range_auc_pr_matches_a_direct_reading_of_the_definition(y, scores, buffer):
    s = np.array(scores[: len(y)], dtype=float)
    assert range_auc_pr(y, s, buffer) == pytest.approx(_reference_range_ap(y, s, buffer), abs=1e-12)


@settings(deadline=None)
@given(labels, tied_scores, st.integers(0, 10))
def test_vus_pr_is_in_the_unit_interval_and_rank_based(y, scores, max_buffer):
    s = np.array(scores[: len(y)], dtype=float)
    value = vus_pr(y, s, max_buffer=max_buffer)
    assert 0.0 <= value <= 1.0 + 1e-12
    assert vus_pr(y, s**3 + 2 * s - 5, max_buffer=max_buffer) == pytest.approx(value, abs=1e-12)
    assert vus_pr(y, np.exp(s), max_buffer=max_buffer) == pytest.approx(value, abs=1e-12)


@given(st.lists(st.floats(0, 1), min_size=2, max_size=200, unique=True), st.data())
def test_range_auc_pr_of_one_event_without_buffer_is_average_precision(scores, data):
    start = data.draw(st.integers(0, len(scores) - 1))
    end = data.draw(st.integers(start + 1, len(scores)))
    y = np.zeros(len(scores), dtype=int)
    y[start:end] = 1
    assert range_auc_pr(y, scores, 0) == pytest.approx(average_precision_score(y, scores), abs=1e-12)


@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=1, max_size=60))
def test_point_adjustment_never_lowers_f1_or_recall(pairs):
    y = [p[0] for p in pairs]
    pred = [p[1] for p in pairs]
    plain, adjusted = point_prf(y, pred), point_prf(y, point_adjust(y, pred))
    assert point_adjusted_f1(y, pred) >= point_f1(y, pred) - 1e-12
    assert adjusted.recall >= plain.recall - 1e-12 and adjusted.precision >= plain.precision - 1e-12
    # an event is found exactly when point adjustment credits it
    assert (event_prf(y, pred).recall > 0) == (adjusted.recall > 0)
    assert (event_prf(y, pred).recall == 1) == (adjusted.recall == 1)

"""The alarms benchmark's measures (reconad.bench.alarms) on hand-computed cases: false alarms per 10,000 normal
rows, labelled windows touched, the flagged-share ratio, alarm events, the training sizes and the summaries."""

import pytest

from reconad.bench.alarms import (
    events_per_10k,
    false_alarms,
    false_alarms_per_10k,
    flagged_ratio,
    nab_summary,
    parse_rules,
    row_names,
    skab_summary,
    train_sizes,
    windows_touched,
)

#        rows:  0  1  2  3  4  5  6  7  8  9
LABELS = [0, 0, 1, 1, 0, 0, 0, 1, 0, 0]  # labelled windows [2, 4) and [7, 8); 7 normal rows
FLAGS = [1, 0, 0, 1, 1, 0, 1, 0, 0, 1]  # flagged regions [0, 1), [3, 5), [6, 7), [9, 10)


def test_false_alarms_are_flagged_regions_touching_no_labelled_row():
    # [3, 5) touches the window at row 3; [6, 7) ends next to the window at 7 but touches none of its rows
    assert false_alarms(LABELS, FLAGS) == 3
    assert false_alarms_per_10k(LABELS, FLAGS) == pytest.approx(3 * 10_000 / 7)
    assert false_alarms([0, 0, 0, 0], [0, 1, 1, 0]) == 1 and false_alarms([0, 0, 0, 0], [0] * 4) == 0
    assert false_alarms_per_10k([0] * 4, [1, 0, 1, 1]) == pytest.approx(2 * 10_000 / 4)
    assert false_alarms_per_10k([1, 1], [1, 1]) is None  # no normal rows


def test_windows_touched_is_the_share_of_labelled_windows_with_a_flag():
    assert windows_touched(LABELS, FLAGS) == 0.5  # [2, 4) by row 3; [7, 8) untouched
    assert windows_touched(LABELS, [0] * 10) == 0.0
    assert windows_touched([1, 1, 0, 1], [0, 1, 0, 1]) == 1.0
    assert windows_touched([0, 0, 0], [1, 1, 1]) is None  # no labelled window: left out of the mean


def test_flagged_ratio_and_events():
    assert flagged_ratio([6, 2, 0]) == 7.0
    assert flagged_ratio([117, 2124, 6610]) == pytest.approx(6611 / 118)  # the series: 56×
    assert flagged_ratio([5, 5, 5]) == 1.0
    assert events_per_10k([0, 1, 1, 0, 1, 0, 0, 0, 0, 0]) == 2000.0
    assert events_per_10k([0] * 5) == 0.0 and events_per_10k([]) == 0.0


def test_training_sizes_are_floored_fractions_with_caps():
    assert train_sizes(1000) == (100, 150, 200)
    assert train_sizes(7499) == (749, 1124, 1499)
    assert train_sizes(20_000) == (750, 1125, 1500)


def test_rules_are_parsed_checked_and_named():
    assert parse_rules(None) == [] and parse_rules("default") == []
    assert parse_rules("default,pot, quantile,pot") == ["pot", "quantile"]
    assert parse_rules(["median_mad"]) == ["median_mad"]
    with pytest.raises(ValueError, match="unknown threshold rule 'nope'; choose from default, folds, quantile"):
        parse_rules("pot,nope")
    assert row_names(["pot"]) == ["reconad", "reconad pot", "IsolationForest", "PCA"]
    # folds: every rule again on the whole-log calibration, after the plain rows
    assert parse_rules("folds,pot") == ["folds", "pot"]
    assert row_names(["folds", "pot"]) == ["reconad", "reconad pot", "reconad folds", "reconad folds pot",
                                           "IsolationForest", "PCA"]


def _nab_row(series, fraction, flagged, alarms, touched, share):
    return {"series": series, "detector": "reconad", "fraction": fraction, "flagged": flagged,
            "false_alarms_per_10k": alarms, "windows_touched": touched, "share_flagged": share, "fit_seconds": 2.0}


def test_nab_summary_by_hand():
    rows = [_nab_row("a", 0.10, 6, 10.0, 1.0, 0.06), _nab_row("a", 0.15, 2, 20.0, 0.5, 0.02),
            _nab_row("a", 0.20, 0, 30.0, 0.0, 0.0), _nab_row("b", 0.10, 1, 0.0, None, 0.01),
            _nab_row("b", 0.15, 1, 40.0, None, 0.01), _nab_row("b", 0.20, 1, 0.0, None, 0.01)]
    summary = nab_summary(rows, ["reconad", "PCA"])
    assert list(summary) == ["reconad"]  # a row without data is left out
    s = summary["reconad"]
    assert s["series"] == 2 and s["series_with_windows"] == 1
    assert s["flagged_ratio_median"] == 4.0  # a: 7 / 1, b: 2 / 2
    fit = s["per_fit"]["0.15"]
    assert fit["false_alarms_per_10k_median"] == 30.0
    assert fit["false_alarms_per_10k_p90"] == pytest.approx(38.0)  # 20 + 0.9 * (40 - 20)
    assert fit["windows_touched_mean"] == 0.5 and fit["share_flagged_median"] == pytest.approx(0.015)
    assert s["per_fit"]["0.10"]["windows_touched_mean"] == 1.0 and s["per_fit"]["0.20"]["fit_seconds_mean"] == 2.0


def test_skab_summary_by_hand():
    rows = [{"detector": "reconad", "tp": 3, "fp": 1, "fn": 1, "tn": 5, "false_alarms": 1, "fit_seconds": 1.0},
            {"detector": "reconad", "tp": 0, "fp": 0, "fn": 2, "tn": 10, "false_alarms": 0, "fit_seconds": 3.0}]
    free = [{"detector": "reconad", "events_per_10k": 12.5, "share_flagged": 0.1}]
    s = skab_summary(rows, free, ["reconad"])["reconad"]
    # pooled tp 3, fp 1, fn 3, tn 15: precision 0.75, recall 0.5
    assert s["files"] == 2 and s["pooled_f1"] == pytest.approx(0.6)
    assert s["pooled_far"] == pytest.approx(1 / 16) and s["pooled_mar"] == pytest.approx(0.5)
    assert s["false_alarms_per_10k"] == pytest.approx(625.0) and s["fit_seconds_mean"] == 2.0
    assert s["anomaly_free_events_per_10k"] == 12.5 and s["anomaly_free_share_flagged"] == 0.1

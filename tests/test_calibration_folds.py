"""Calibration beyond the tail (issue 34): the threshold sees the whole training log, not only its last fifth."""

import numpy as np
import pytest

from reconad import InputError, SeriesDetector, load

FAST = {"window": 16, "stride": 4, "epochs": 2, "hidden_size": 8, "random_state": 0, "verbose": False}


def log_with_a_busy_tail(n=1000, seed=0):
    # a quiet log whose last fifth is noisier: the tail alone sets a level the quiet part never reaches
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    noise = np.where(t < int(0.8 * n), 0.05, 0.3)
    return np.sin(2 * np.pi * t / 50) + rng.normal(0, 1, n) * noise


def test_out_of_fold_adds_the_scores_of_both_halves_from_models_of_the_other(tmp_path):
    x = log_with_a_busy_tail()
    det = SeriesDetector(**FAST).fit(x)
    tail, scores = det.calibration_scores_.copy(), det.anomaly_score(x)
    assert len(tail) == 200  # the last fifth
    det.calibrate(x, out_of_fold=True)
    assert len(det.calibration_scores_) == 200 + 1000
    np.testing.assert_array_equal(det.calibration_scores_[:200], tail)  # the tail stays first
    assert det.threshold_source_.endswith("and out-of-fold scores of 1000 steps")
    # a clone fitted on the first half scores the second half (then the second half's model the first)
    first = SeriesDetector(calibration_split=0, **FAST).fit(x[:500])
    np.testing.assert_allclose(det.calibration_scores_[200:700], first.anomaly_score(x[500:]), rtol=1e-6)
    # the threshold is the same rule (mean + 4 std) on the pooled scores; the model's scores do not move
    pooled = det.calibration_scores_
    assert float(det.threshold_) == pytest.approx(pooled.mean() + 4 * pooled.std(), rel=1e-9)
    np.testing.assert_array_equal(det.anomaly_score(x), scores)
    det.save(tmp_path / "m.reconad")
    again = load(tmp_path / "m.reconad")
    np.testing.assert_array_equal(again.calibration_scores_, pooled)
    assert float(again.threshold_) == float(det.threshold_) and "out-of-fold" in again.threshold_source_


def test_held_out_normal_data_adds_its_own_scores():
    x = log_with_a_busy_tail()
    det = SeriesDetector(**FAST).fit(x[:600])
    before = det.calibration_scores_.copy()
    det.calibrate(x[600:])
    np.testing.assert_array_equal(det.calibration_scores_, np.concatenate([before, det.anomaly_score(x[600:])]))


def test_a_series_too_short_for_two_halves_is_refused_and_changes_nothing():
    det = SeriesDetector(**FAST).fit(log_with_a_busy_tail(400))
    before, source = float(det.threshold_), det.threshold_source_
    with pytest.raises(InputError, match="two windows of 16 steps in each half.*pass at least 64"):
        det.calibrate(log_with_a_busy_tail(60), out_of_fold=True)
    assert float(det.threshold_) == before and det.threshold_source_ == source


def test_fit_calibration_folds_on_the_command_line(tmp_path, capsys):
    import pandas as pd

    from reconad.cli import main

    pd.DataFrame({"value": log_with_a_busy_tail(600)}).to_csv(tmp_path / "log.csv", index=False)
    args = ["fit", str(tmp_path / "log.csv"), "--window", "16", "--stride", "4", "--epochs", "1", "--hidden-size",
            "4", "--random-state", "0", "--quiet", "--out"]
    assert main([*args, str(tmp_path / "tail.reconad")]) == 0
    assert main([*args, str(tmp_path / "folds.reconad"), "--calibration", "folds"]) == 0
    assert "out-of-fold scores of 600 steps" in capsys.readouterr().out
    tail, folds = load(tmp_path / "tail.reconad"), load(tmp_path / "folds.reconad")
    assert len(folds.calibration_scores_) == len(tail.calibration_scores_) + 600

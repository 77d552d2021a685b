"""``reconad score --threshold / --alarms --per`` and ``det.set_threshold``: a new alarm level, the same scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import reconad
from reconad.cli import main
from reconad.thresholds import AlarmBudget, Fixed

FAST = dict(window=20, stride=5, epochs=2, batch_size=16, verbose=False, random_state=0)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("alarms")
    rng = np.random.default_rng(0)
    t = np.arange(1200)
    frame = pd.DataFrame({"time": pd.date_range("2026-01-01", periods=len(t), freq="min"),
                          "v": np.sin(t / 7) + 0.1 * rng.standard_normal(len(t))})
    frame.to_csv(folder / "log.csv", index=False)
    det = reconad.SeriesDetector(**FAST).fit(frame[["v"]].iloc[:600])
    det.save(folder / "m.reconad")
    return folder, det, frame


def _scores(path):
    return pd.read_csv(path)


def test_a_number_is_a_fixed_level(files):
    folder, det, _ = files
    assert main(["score", str(folder / "m.reconad"), str(folder / "log.csv"), "--time-col", "time", "--out",
                 str(folder / "fixed.csv"), "--threshold", "0.5", "--quiet"]) == 0
    out = _scores(folder / "fixed.csv")
    np.testing.assert_array_equal(out["label"], (out["score"] > 0.5).astype(int))


def test_a_budget_per_hour_counts_rows_with_the_time_column(files):
    folder, det, frame = files
    assert main(["score", str(folder / "m.reconad"), str(folder / "log.csv"), "--time-col", "time", "--out",
                 str(folder / "hour.csv"), "--alarms", "3", "--per", "hour", "--quiet"]) == 0
    out = _scores(folder / "hour.csv")
    level = float(AlarmBudget(alarms=3, per=60).fit(det.calibration_scores_))  # 1-minute rows: 60 per hour
    np.testing.assert_array_equal(out["label"], (out["score"] > level).astype(int))
    np.testing.assert_allclose(out["score"], det.anomaly_score(frame[["v"]]), rtol=1e-6)  # the scores never move


@pytest.mark.parametrize("extra, message", [
    (["--alarms", "3", "--per", "hour"], "needs dates in the time column"),
    (["--alarms", "3", "--threshold", "1"], "either --threshold or --alarms"),
    (["--threshold", "sometimes"], "unknown threshold 'sometimes'"),
    (["--alarms", "3", "--per", "0"], "at least 1 row"),
    (["--alarms", "-1"], "alarms must be a number > 0"),
])
def test_bad_alarm_options_are_one_clear_error(files, capsys, extra, message):
    folder, _, frame = files
    frame[["v"]].to_csv(folder / "plain.csv", index=False)
    code = main(["score", str(folder / "m.reconad"), str(folder / "plain.csv"), "--out", str(folder / "x.csv"),
                 "--quiet", *extra])
    assert code == 2 and message in capsys.readouterr().err
    assert not (folder / "x.csv").exists()


def test_set_threshold_takes_a_number_a_name_or_a_budget(files):
    _, det, frame = files
    det = reconad.load(files[0] / "m.reconad")
    scores = det.anomaly_score(frame[["v"]])
    assert isinstance(det.set_threshold(0.25).threshold_, Fixed) and float(det.threshold_) == 0.25
    det.set_threshold(AlarmBudget(alarms=50, per=1000))
    assert alarm_count(det.calibration_scores_, float(det.threshold_)) <= 50 * len(det.calibration_scores_) / 1000
    np.testing.assert_array_equal(det.anomaly_score(frame[["v"]]), scores)
    det.save(files[0] / "again.reconad")
    assert float(reconad.load(files[0] / "again.reconad").threshold_) == float(det.threshold_)


def alarm_count(scores, level):
    from reconad.thresholds import alarm_events

    return alarm_events(scores, level)

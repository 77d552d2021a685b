"""Warm start (``det.partial_fit``, ``reconad fit --warm-start``), version history in the file, and when to retrain."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import join_model_file, split_model_file

import reconad
from reconad.cli import main
from reconad.errors import InputError, ModelFileError
from reconad.live import alarm_rate
from reconad.thresholds import AlarmBudget


def sensors(steps: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None]
    x = np.sin(t / np.array([9.0, 14.0]) + np.array([0.0, 1.0])) + 0.1 * rng.normal(size=(steps, 2))
    x[:, 0] += shift
    return pd.DataFrame(x.astype(np.float32), columns=["flow", "temp"])


@pytest.fixture(scope="module")
def fitted():
    return reconad.SeriesDetector(window=16, stride=4, epochs=4, verbose=False, random_state=0).fit(sensors(3000, 0))


def flagged_share(det, x) -> float:
    return float(det.predict(x).mean())


def test_partial_fit_after_a_level_shift_brings_the_flags_back_down_and_records_the_version(fitted):
    det = pickle_free_copy(fitted)
    after = sensors(3000, 2, shift=3.0)
    assert flagged_share(det, after) > 0.5  # the shifted level is flagged nearly everywhere
    history = len(det.history_)
    det.partial_fit(sensors(2000, 1, shift=3.0), epochs=2)
    assert flagged_share(det, after) < 0.02
    assert det.feature_names_in_ == ["flow", "temp"]
    assert [v["kind"] for v in det.versions_] == ["fit", "partial_fit"]
    assert (det.versions_[0]["rows"], det.versions_[0]["epochs"]) == (3000, 4)
    assert (det.versions_[1]["rows"], det.versions_[1]["epochs"]) == (2000, 2)
    assert det.versions_[0]["fingerprint"] != det.versions_[1]["fingerprint"]
    assert len(det.history_) == history + 2 and det.history_[-1]["phase"] == "partial_fit"
    assert "partial_fit data (400 steps)" in det.threshold_source_
    np.testing.assert_allclose(det.scaler_.mean_[0], 3.0, atol=0.1)  # refit: the new level


def test_keeping_the_scaler_keeps_the_old_statistics(fitted):
    det = pickle_free_copy(fitted)
    det.partial_fit(sensors(2000, 1, shift=3.0), epochs=1, scaler="keep")
    np.testing.assert_array_equal(det.scaler_.mean_, fitted.scaler_.mean_)


def test_a_failed_partial_fit_leaves_the_detector_as_it_was(fitted):
    det = pickle_free_copy(fitted)
    weights = {k: v.clone() for k, v in det.model_.state_dict().items()}
    threshold = float(det.threshold_)
    with pytest.raises(InputError, match="each hold a window of 16 steps: pass at least 80 steps"):
        det.partial_fit(sensors(50, 1), epochs=1)
    with pytest.raises(InputError, match="columns"):
        det.partial_fit(sensors(500, 1)[["temp", "flow"]], epochs=1)
    with pytest.raises(InputError, match="scaler must be one of refit, keep"):
        det.partial_fit(sensors(500, 1), scaler="new")
    assert float(det.threshold_) == threshold and len(det.versions_) == 1
    assert all(torch.equal(weights[k], v) for k, v in det.model_.state_dict().items())


def pickle_free_copy(det):
    """A fresh detector through the model file (the way a deployment gets one)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        det.save(Path(folder) / "m.reconad")
        copy = reconad.load(Path(folder) / "m.reconad")
    copy.set_params(verbose=False)
    return copy


def test_the_version_history_survives_the_file_and_older_files_load_without_one(fitted, tmp_path):
    path = tmp_path / "m.reconad"
    fitted.save(path)
    assert reconad.load(path).versions_ == fitted.versions_
    header, body = split_model_file(path.read_bytes())
    document = json.loads(header["__metadata__"]["reconad"])
    assert document["versions"][0]["kind"] == "fit"
    del document["versions"]  # a file written before the history existed
    header["__metadata__"]["reconad"] = json.dumps(document)
    path.write_bytes(join_model_file(header, body))
    assert reconad.load(path).versions_ == []
    document["versions"] = [{"kind": "rewrite", "when": "x", "rows": 1, "epochs": 1, "fingerprint": "f"}]
    header["__metadata__"]["reconad"] = json.dumps(document)
    path.write_bytes(join_model_file(header, body))
    with pytest.raises(ModelFileError, match="version record"):
        reconad.load(path)


def test_fit_warm_start_on_the_command_line(fitted, tmp_path, capsys):
    old, new = tmp_path / "old.reconad", tmp_path / "new.reconad"
    fitted.save(old)
    frame = sensors(1000, 1, shift=3.0)
    frame.insert(0, "time", np.arange(1000))
    frame.to_csv(tmp_path / "recent.csv", index=False)
    assert main(["fit", str(tmp_path / "recent.csv"), "--warm-start", str(old), "--out", str(new), "--epochs", "1",
                 "--time-col", "time", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "continued" in out and "for 1 epochs on 1,000 new rows" in out and "version 2" in out
    det = reconad.load(new)
    assert [v["kind"] for v in det.versions_] == ["fit", "partial_fit"]
    assert det.versions_[-1]["source"] == "recent.csv" and det.feature_names_in_ == ["flow", "temp"]
    assert main(["fit", str(tmp_path / "recent.csv"), "--warm-start", str(old), "--out", str(new), "--window",
                 "8"]) == 2
    assert "--window cannot change a warm-started model" in capsys.readouterr().err
    assert main(["fit", str(tmp_path / "recent.csv"), "--warm-scaler", "keep", "--out", str(new)]) == 2
    assert "--warm-scaler goes with --warm-start" in capsys.readouterr().err


def test_the_alarm_rate_calls_for_retraining_on_many_events_or_on_an_alarm_that_never_ends(fitted):
    det = pickle_free_copy(fitted).set_threshold(AlarmBudget(alarms=2, per=10_000))
    share = float(np.mean(det.calibration_scores_ > float(det.threshold_)))
    calm = alarm_rate(det, events=1, steps=10_000, flagged=10)
    assert calm["due"] is False and calm["flagged_share"] == 0.001
    assert alarm_rate(det, events=1, steps=10_000, flagged=9_000)["due"] is True  # one endless alarm
    assert alarm_rate(det, events=5, steps=10_000, flagged=50)["due"] is True  # 5 > 2 x 2 per 10k
    assert alarm_rate(det, events=1, steps=10_000, flagged=max(0.01, 2 * share) * 10_000 - 1)["due"] is False


def test_the_warm_start_benchmark_compares_partial_fit_with_a_full_refit():
    from reconad.bench.warm_start import markdown, run

    payload = run(repeats=1, epochs=2)
    assert [r["model"].split(",")[0] for r in payload["rows"]] == [
        "fitted before the shift", "fitted before the shift", "partial_fit", "partial_fit", "full refit"]
    assert payload["rows"][1]["flagged_share"] > 0.5 and payload["rows"][1]["retraining_due"] is True
    assert payload["warm_over_full_time"] > 0 and [v["kind"] for v in payload["versions"]] == ["fit", "partial_fit"]
    assert "rows flagged" in markdown(payload)

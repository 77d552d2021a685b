"""The benchmark suites (reconad.bench): the NAB / SKAB protocol on two files, quick runs of the small suites,
the files they write, the command line and its refusals, and the torch-free import of the CLI side."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import require_dataset, require_module

from reconad import bench
from reconad.bench.results import markdown_table, summary_line
from reconad.bench.sensors import bench_nab, bench_skab, make_detector, nab_markdown, skab_markdown


def test_bench_and_experiments_import_and_parse_without_torch():
    code = ("import argparse, sys\n"
            "from reconad.bench import add_cli\n"
            "import reconad.commands.experiment as e\n"
            "p = argparse.ArgumentParser(); sp = p.add_subparsers(); add_cli(sp); e.add_cli(sp)\n"
            "args = p.parse_args(['bench', 'skab', '--epochs', '1'])\n"
            "assert callable(args.func)\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_suite_resolves_to_a_run_and_a_markdown_function():
    import importlib

    assert bench.list_suites() == ["sine-notebook", "sine-independent", "mnist-course", "mnist-oneclass", "nab",
                                   "skab", "speed", "serve-load", "alarms", "watch", "warm-start",
                                   "image-suites"]
    for suite in bench.SUITES.values():
        module = importlib.import_module(f"reconad.bench.{suite.module}")
        assert callable(getattr(module, suite.run)) and callable(getattr(module, suite.markdown))


def test_unknown_suites_and_options_are_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown benchmark suite 'nope'.*sine-notebook"):
        bench.run_suite("nope")
    with pytest.raises(ValueError, match="takes no option workers; it takes seeds, epochs"):
        bench.run_suite("sine-independent", workers=2)
    assert bench.main(["nab", "--workers", "2", "--out", str(tmp_path)]) == 2
    assert "nab takes no --workers; it takes --epochs, --data, --files" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # refused before any work
    with pytest.raises(SystemExit):
        bench.main(["whole-recording"])


def test_baselines_get_the_detectors_calibration_split_and_a_fresh_threshold():
    reference = make_detector("reconad")
    forest = make_detector("IsolationForest")
    assert forest.kind == "iforest" and forest.window == 16
    assert forest.calibration_split == reference.calibration_split
    assert type(forest.threshold) is type(reference.new_threshold()) and forest.threshold.value_ is None
    with pytest.raises(ValueError, match="unknown benchmark detector"):
        make_detector("LOF")


def test_bench_functions_on_two_files():
    require_dataset("nab")
    require_dataset("skab")
    nab = bench_nab(names=["realTraffic/speed_7578.csv", "artificialNoAnomaly/art_flatline.csv"], epochs=1)
    assert {r["series"] for r in nab["per_series"]} == {"realTraffic/speed_7578.csv"}  # no anomaly: left out
    assert set(nab["summary"]) == {"reconad", "reconad-pca", "IsolationForest", "PCA"}
    for row in nab["per_series"]:
        assert 0 <= row["auprc"] <= 1 and 0 <= row["f1"] <= 1 and row["train_rows"] == 169
        assert 0 <= row["vus_pr"] <= 1 and row["sliding_window"] >= 6
    skab = bench_skab(names=["valve1/0.csv", "other/2.csv"], epochs=1)
    assert len(skab["per_file"]) == 8
    s = skab["summary"]["reconad"]
    rows = [r for r in skab["per_file"] if r["detector"] == "reconad"]
    tp, fp = sum(r["tp"] for r in rows), sum(r["fp"] for r in rows)
    fn, tn = sum(r["fn"] for r in rows), sum(r["tn"] for r in rows)
    assert s["pooled_f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert s["pooled_far"] == pytest.approx(fp / (fp + tn)) and s["pooled_mar"] == pytest.approx(fn / (fn + tp))
    assert tp + fp + fn + tn == (1147 - 400) + (780 - 400)
    assert "pooled F1" in skab_markdown(skab) and "AUC-PR" in nab_markdown(nab)
    oracle = [r["oracle_at_far"] for r in rows]
    otp, ofp, ofn = (sum(o[k] for o in oracle) for k in ("tp", "fp", "fn"))
    assert s["pooled_oracle_f1_at_far"] == pytest.approx(2 * otp / (2 * otp + ofp + ofn))
    assert all(o["fp"] <= 0.1 * (o["fp"] + o["tn"]) for o in oracle)
    assert s["pooled_oracle_f1_at_far"] <= s["pooled_ceiling_f1_at_far"] <= 1  # pooling can only add choices
    # each file holds one labelled anomaly; a delay points into it, or the anomaly was missed
    assert all(len(r["delays"]) == 1 for r in rows) and s["events"] == 2
    found = [d for r in rows for d in r["delays"] if d is not None]
    assert s["events_found"] == len(found) and all(0 <= d < 747 for d in found)
    assert s["median_delay"] == (pytest.approx(float(np.median(found))) if found else None)


def test_the_skab_row_is_the_detectors_own_flags():
    require_dataset("skab")
    from reconad.data import load_skab_file
    from reconad.data.skab import TRAIN_ROWS
    from reconad.metrics import point_f1

    result = bench_skab(names=["other/6.csv"], detectors=["reconad"], epochs=2)
    recording = load_skab_file("other/6.csv")
    x = recording.features.to_numpy(dtype=np.float32)
    det = make_detector("reconad", epochs=2).fit(x[:TRAIN_ROWS])
    flags = det.predict(x)[TRAIN_ROWS:]
    (row,) = result["per_file"]
    assert row["f1"] == pytest.approx(point_f1(recording.labels[TRAIN_ROWS:], flags))
    assert row["tp"] + row["fp"] == int(flags.sum())


def test_cli_bench_writes_json_and_markdown_with_the_machine(tmp_path, capsys):
    require_dataset("skab")
    code = bench.main(["skab", "--out", str(tmp_path), "--files", "valve1/0.csv", "--epochs", "1", "--quiet"])
    assert code == 0
    result = json.loads((tmp_path / "skab.json").read_text())
    assert set(result["summary"]) == {"reconad", "reconad-pca", "IsolationForest", "PCA"}
    configuration = result["configuration"]
    assert configuration["epochs_override"] == 1 and configuration["threshold"].startswith("mean_std(")
    assert result["machine"]["cpu_count"] >= 1 and result["suite"] == "skab" and result["seconds"] > 0
    markdown = (tmp_path / "skab.md").read_text()
    assert "| reconad | 1 |" in markdown and "Machine:" in markdown
    assert "| reconad | 1 |" in capsys.readouterr().out


def test_sine_suites_run_quickly_and_write_their_tables(tmp_path):
    payload = bench.run_suite("sine-independent", tmp_path, seeds=[0], epochs=2)
    (run,) = payload["runs"]
    assert 0 <= run["auprc"] <= 1 and payload["mean"]["auprc"] == run["auprc"]
    assert "| **mean** |" in (tmp_path / "sine_independent.md").read_text()
    assert json.loads((tmp_path / "sine_independent.json").read_text())["epochs_override"] == 2
    payload = bench.run_suite("sine-notebook", tmp_path, seeds=[223], epochs=1)
    assert payload["preset"] == "sine-notebook" and len(payload["runs"][0]["history"]) == 1
    assert "oracle best-F1" in (tmp_path / "sine_notebook.md").read_text()


def test_mnist_oneclass_one_digit_in_process(tmp_path):
    require_dataset("mnist")
    payload = bench.run_suite("mnist-oneclass", tmp_path, digits=[1], workers=1, epochs=1)
    (row,) = payload["rows"]
    assert row["digit"] == 1 and 0.5 < row["reconad"] <= 1 and 0.5 < row["PCA"] <= 1
    assert "| 1 |" in (tmp_path / "mnist_oneclass.md").read_text()


def test_streaming_part_of_the_speed_suite_matches_batch_scores():
    from reconad.bench.speed import streaming

    result = streaming("cpu", repeats=1, steps=3_000)
    assert result["stream_max_abs_diff"] < 1e-4 and result["batch_s"] > 0


def test_serve_load_small_run_has_no_errors():
    require_module("fastapi", "serve")
    require_module("uvicorn", "serve")
    from reconad.bench.serve_load import markdown, run

    record = run(requests=12, seconds=60, clients=2, steps=300)
    result = record["result"]
    assert result["errors"] == 0, result["error_examples"]
    assert result["requests"] == 12 and result["statuses"] == {"200": 11, "422": 1}
    assert result["request_without_token"] == 401
    assert "| 12 |" in markdown(record)
    with pytest.raises(ValueError, match="bounded"):
        run(clients=0)


def test_table_and_summary_formats():
    assert markdown_table(["a", "b"], [[0.12345, None], [3, "x"]]) == "| a | b |\n|---|---|\n| 0.123 | – |\n| 3 | x |\n"
    line = summary_line({"pooled_f1": 0.76249, "events": 34, "median_delay": None, "mean_auprc": 1.0})
    assert line == "pooled_f1 0.762 events 34 median_delay – mean_auprc 1.000"


def test_alarms_suite_on_two_series_and_two_files(tmp_path):
    require_dataset("nab")
    require_dataset("skab")
    from reconad.bench.alarms import false_alarms_per_10k, flagged_ratio, windows_touched
    from reconad.data.nab import load_nab_series
    from reconad.detectors import SeriesDetector

    assert bench.main(["alarms", "--thresholds", "pot,nope", "--out", str(tmp_path)]) == 2  # refused before work
    series = ["realTraffic/speed_7578.csv", "artificialNoAnomaly/art_flatline.csv"]
    bench.run_suite("alarms", tmp_path, series=series, names=["valve1/0.csv", "other/2.csv"], epochs=1,
                    thresholds="default,quantile,folds")
    result = json.loads((tmp_path / "alarms.json").read_text())
    names = ["reconad", "reconad quantile", "reconad folds", "reconad folds quantile", "IsolationForest", "PCA"]
    assert result["configuration"]["rules"] == ["default", "quantile", "folds"] and result["suite"] == "alarms"
    nab, skab = result["nab"], result["skab"]
    assert list(nab["summary"]) == names and list(skab["summary"]) == names
    assert len(nab["per_series"]) == 2 * 3 * 6 and len(skab["per_file"]) == 2 * 6
    speed = [r for r in nab["per_series"] if r["series"] == series[0]]
    assert sorted({r["train_rows"] for r in speed}) == [112, 169, 225]  # 10 / 15 / 20% of 1127 rows
    assert {r["eval_rows"] for r in speed} == {1127 - 225}  # the same rows after the longest stretch, every fit
    assert nab["summary"]["reconad"]["series"] == 2 and nab["summary"]["reconad"]["series_with_windows"] == 1
    # the 15% row and its quantile row, recomputed from the public API: one fit, then set_threshold
    s = load_nab_series(series[0])
    det = SeriesDetector(random_state=0, verbose=False, epochs=1).fit(s.values[:169])
    for name, rule in (("reconad", None), ("reconad quantile", "quantile"), ("reconad folds", "folds"),
                       ("reconad folds quantile", "quantile")):
        if rule == "folds":  # the default rule again, on the tail plus the out-of-fold scores of the whole stretch
            det.set_params(threshold=None).calibrate(s.values[:169], out_of_fold=True)
        elif rule:
            det.set_threshold(rule)
        flags = det.predict(s.values[225:])
        (row,) = [r for r in speed if r["detector"] == name and r["fraction"] == 0.15]
        assert row["flagged"] == int(flags.sum()) and row["threshold"] == pytest.approx(float(det.threshold_))
        assert row["false_alarms_per_10k"] == pytest.approx(false_alarms_per_10k(s.labels[225:], flags))
        assert row["windows_touched"] == pytest.approx(windows_touched(s.labels[225:], flags))
    ratios = [flagged_ratio([r["flagged"] for r in nab["per_series"] if r["series"] == n and r["detector"] == "PCA"])
              for n in series]
    assert nab["summary"]["PCA"]["flagged_ratio_median"] == pytest.approx(float(np.median(ratios)))
    rows = [r for r in skab["per_file"] if r["detector"] == "reconad quantile"]
    tp, fp, fn = (sum(r[k] for r in rows) for k in ("tp", "fp", "fn"))
    assert skab["summary"]["reconad quantile"]["pooled_f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert sum(r["tp"] + r["fp"] + r["fn"] + r["tn"] for r in rows) == (1147 - 400) + (780 - 400)
    assert [r["detector"] for r in skab["anomaly_free"]] == names
    for r in skab["anomaly_free"]:
        assert r["eval_rows"] == 9405 - 400 and r["events_per_10k"] == pytest.approx(r["events"] * 1e4 / 9005)
    markdown = (tmp_path / "alarms.md").read_text()
    assert "| reconad quantile | 2 |" in markdown and "## SKAB per file" in markdown and "Machine:" in markdown

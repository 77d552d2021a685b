"""NAB and SKAB loaders on the real data, short training series, explain, and the benchmark functions."""

import json
import logging

import numpy as np
import pandas as pd
import pytest
from conftest import require_dataset
from hypothesis import given
from hypothesis import strategies as st

import reconad
from reconad.bench import (
    bench_nab,
    bench_skab,
    confusion,
    nab_markdown,
    oracle_confusion_at_far,
    oracle_confusion_pooled_far,
    rates,
    skab_markdown,
    summary_line,
)
from reconad.data import load_nab_series, load_skab_anomaly_free, load_skab_file
from reconad.data.nab import probation, read_windows
from reconad.data.skab import skab_files
from reconad.errors import InputError
from reconad.metrics import regions

FLAT = "artificialWithAnomaly/art_daily_flatmiddle.csv"


def test_nab_window_bounds_are_inclusive():
    root = require_dataset("nab")
    raw = json.loads((root / "labels" / "combined_windows.json").read_text())
    ((start, end),) = raw[FLAT]  # ["2014-04-10 07:15:00.000000", "2014-04-11 16:45:00.000000"]
    series = load_nab_series(FLAT, root)
    time = pd.Series(series.time)
    first = int(np.flatnonzero(time == pd.Timestamp(start[:19]))[0])
    last = int(np.flatnonzero(time == pd.Timestamp(end[:19]))[0])
    assert series.labels[first] == 1 and series.labels[last] == 1  # both bounds included
    assert series.labels[first - 1] == 0 and series.labels[last + 1] == 0
    assert series.labels.sum() == last - first + 1 == 403  # the README's count
    assert series.values.dtype == np.float32 and len(series.values) == len(series.labels) == 4032


def test_nab_keeps_every_row_and_label_count():
    root = require_dataset("nab")
    windows = read_windows(root)
    assert len(windows) == 51
    series = load_nab_series("realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv", root, windows)  # a repeated time
    assert len(series.values) == 4730 and series.labels.sum() == 473
    assert probation(4730) == 709 and probation(15902) == 750


def test_skab_files_and_labels():
    root = require_dataset("skab")
    names = skab_files(root)
    assert len(names) == 34 and names[:2] == ["other/1.csv", "other/2.csv"] and "valve1/15.csv" in names
    rec = load_skab_file("valve1/0.csv", root)
    assert rec.features.shape == (1147, 8) and "anomaly" not in rec.features and "changepoint" not in rec.features
    assert rec.labels.sum() == 401 and int(np.flatnonzero(rec.labels)[0]) == 573
    assert rec.changepoints.sum() == 4 and rec.changepoints[573] == 1
    free = load_skab_anomaly_free(root)
    assert free.features.shape == (9405, 8) and free.labels is None


def test_missing_dataset_root_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="RECONAD_DATA"):
        read_windows(tmp_path)
    with pytest.raises(InputError, match="RECONAD_DATA"):
        skab_files(tmp_path)


def _series(n, d=3, seed=0):
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return (np.sin(2 * np.pi * t / 25)[:, None] * np.ones(d) + 0.05 * rng.normal(size=(n, d))).astype(np.float32)


def test_short_training_series_adapts_the_window_and_warns(caplog, tmp_path):
    x = _series(400, d=1)
    det = reconad.SeriesDetector(epochs=2, random_state=0, verbose=False)
    with caplog.at_level(logging.WARNING, logger="reconad"):
        det.fit(x)  # window 100 and calibration 0.2 need 500 steps: the window shrinks to the 80-step tail
    assert det.window == 100 and det.window_ == 80 and "window of 80 steps" in caplog.text
    scores = det.anomaly_score(x)
    assert scores.shape == (400,) and np.isfinite(scores).all()
    det.save(tmp_path / "short.reconad")
    loaded = reconad.load(tmp_path / "short.reconad")
    assert loaded.window_ == 80
    np.testing.assert_array_equal(loaded.anomaly_score(x), scores)
    # long enough: the window stays what was asked for
    assert reconad.SeriesDetector(epochs=1, random_state=0, verbose=False).fit(_series(600, d=1)).window_ == 100


@pytest.mark.parametrize(
    "n, d, window, stride",
    [
        (400, 8, 18, 1),  # SKAB's shape: 320 training rows hold 303 windows of 18 x 8 = 144 numbers (>= 2 x 144)
        (400, 3, 45, 1),  # (320 + 1) // (2 * 3 + 1) = 45
        (400, 1, 80, 1),  # one feature: the calibration tail (80 rows) is the limit, as before
        (3000, 1, 100, 10),  # the sine benchmark's shape: nothing changes (231 windows at stride 10)
        (3000, 8, 100, 10),  # long enough for 8 features too: 2400 - 100 + 1 >= 2 x 800
        (1000, 1, 100, 3),  # 800 training rows: stride 10 would give 71 windows; stride 3 gives 234 (>= 200)
    ],
)
def test_window_and_stride_adapt_to_how_many_windows_the_training_part_holds(caplog, n, d, window, stride):
    x = _series(n, d=d)
    det = reconad.SeriesDetector(epochs=1, random_state=0, verbose=False)
    with caplog.at_level(logging.WARNING, logger="reconad"):
        det.fit(x)
    assert (det.window_, det.stride_) == (window, stride)
    n_train = n - int(round(0.2 * n))
    assert n_train - det.window_ + 1 >= 2 * det.window_ * d or det.window_ == 16  # enough windows per number
    assert (n_train - det.window_) // det.stride_ + 1 >= min(200, n_train - det.window_ + 1)
    if (n, d) == (400, 8):
        assert "too few windows for a window of 80 steps (640 numbers each); using a window of 18" in caplog.text


def test_the_per_input_rule_never_shrinks_below_the_smallest_window():
    det = reconad.SeriesDetector(epochs=1, random_state=0, verbose=False).fit(_series(400, d=40))
    assert det.window_ == 16  # (320 + 1) // 81 = 3 would be too small to see any shape


def test_too_short_even_for_a_tiny_window_names_the_minimum():
    with pytest.raises(InputError, match="at least 80 steps"):
        reconad.SeriesDetector(epochs=1, verbose=False).fit(_series(60))


def test_explain_ranks_the_corrupted_feature_first():
    x = _series(600, d=4)
    det = reconad.SeriesDetector(epochs=5, random_state=0, verbose=False).fit(x[:500])
    test = x.copy()
    test[520:550, 2] += 3.0  # sensor 2 goes wrong
    contrib = det.explain(test)
    assert contrib.shape == (600, 4) and (contrib >= 0).all()
    region = contrib[520:550].mean(axis=0)
    assert int(np.argmax(region)) == 2 and region[2] > 5 * np.delete(region, 2).max()
    # the score is the max over features of the same error: the per-feature max never exceeds it
    assert (contrib.max(axis=1) <= det.anomaly_score(test) + 1e-9).all()
    one = reconad.SeriesDetector(epochs=2, context=0, random_state=0, verbose=False).fit(x[:500, :1])
    np.testing.assert_allclose(one.explain(test[:, :1])[:, 0], one.anomaly_score(test[:, :1]), rtol=1e-6)


def test_explain_regions_names_the_corrupted_sensor_of_each_region():
    x = pd.DataFrame(_series(600, d=4), columns=["flow", "pressure", "current", "vibration"])
    det = reconad.SeriesDetector(epochs=5, random_state=0, verbose=False).fit(x[:500])
    test = x.copy()
    test.iloc[520:550, 2] += 3.0  # the current sensor goes wrong
    (region,) = det.explain_regions(test, [(520, 550)], top=4)
    assert (region["start"], region["end"]) == (520, 550)
    names = [f["feature"] for f in region["features"]]
    shares = [f["share"] for f in region["features"]]
    assert names[0] == "current" and shares[0] > 0.5 and sorted(names) == sorted(x.columns)
    assert shares == sorted(shares, reverse=True) and abs(sum(shares) - 1.0) < 1e-9  # every feature: they add to 1
    flagged = det.explain_regions(test)  # default: the regions predict() flags
    assert [(r["start"], r["end"]) for r in flagged] == regions(det.predict(test))
    hit = [r for r in flagged if r["start"] < 550 and r["end"] > 520]
    assert hit and hit[0]["features"][0]["feature"] == "current" and len(hit[0]["features"]) == 3
    unnamed = reconad.SeriesDetector(epochs=2, random_state=0, verbose=False).fit(x[:500].to_numpy())
    (plain,) = unnamed.explain_regions(test.to_numpy(), [(0, 10)])
    assert all(isinstance(f["feature"], int) for f in plain["features"])  # fitted without names: column indices
    for bad in ([(550, 520)], [(0, 601)], [(1.5, 3)], [(-1, 3)], [(1, 2, 3)]):
        with pytest.raises(InputError, match="half-open row range"):
            det.explain_regions(test, bad)
    with pytest.raises(InputError, match="top must be an integer"):
        det.explain_regions(test, top=0)


def test_bench_functions_on_two_files():
    require_dataset("nab")
    require_dataset("skab")
    nab = bench_nab(names=["realTraffic/speed_7578.csv", "artificialNoAnomaly/art_flatline.csv"], epochs=1)
    assert {r["series"] for r in nab["per_series"]} == {"realTraffic/speed_7578.csv"}  # no anomaly: left out
    assert set(nab["summary"]) == {"reconad", "IsolationForest", "PCA"}
    for row in nab["per_series"]:
        assert 0 <= row["auprc"] <= 1 and 0 <= row["f1"] <= 1 and row["train_rows"] == 169
    skab = bench_skab(names=["valve1/0.csv", "other/2.csv"], epochs=1)
    assert len(skab["per_file"]) == 6
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


def test_bench_flags_with_the_detectors_threshold_object():
    require_dataset("skab")
    from reconad.thresholds import BatchSplit

    names = ["other/6.csv"]  # its rows after the fault sit above the fixed threshold, far below the fault
    fixed = bench_skab(names=names, detectors=["reconad"], epochs=5)["per_file"][0]
    split = bench_skab(names=names, detectors=["reconad"], epochs=5, params={"threshold": BatchSplit()})["per_file"][0]
    assert split["auprc"] == pytest.approx(fixed["auprc"])  # the same floor (mean + 4 std), so the same scores
    assert split["tp"] + split["fp"] < fixed["tp"] + fixed["fp"]  # BatchSplit only removes flags
    assert split["fp"] < fixed["fp"]


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


@given(
    st.lists(st.lists(st.tuples(st.booleans(), st.integers(0, 4)), min_size=1, max_size=5), min_size=1, max_size=3),
    st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0]),
)
def test_oracle_pooled_far_is_the_best_of_every_per_file_threshold_choice(files, far):
    import itertools

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
            best = max(best, rates({k: sum(x[k] for x in counts) for k in ("tp", "fp", "fn", "tn")})["f1"])
    assert rates(c)["f1"] == pytest.approx(best)
    per_file = [oracle_confusion_at_far(y, s, far) for y, s in zip(labels, scores)]
    assert rates(c)["f1"] >= rates({k: sum(x[k] for x in per_file) for k in c})["f1"] - 1e-12


def test_report_names_the_top_features_of_each_region():
    from reconad.report import series_report

    x = pd.DataFrame(_series(600, d=3), columns=["flow", "pressure", "vibration"])
    det = reconad.SeriesDetector(epochs=5, random_state=0, verbose=False).fit(x.iloc[:500])
    test = x.copy()
    test.loc[520:549, "vibration"] += 3.0
    scores, predicted = det.anomaly_score(test), det.predict(test)
    assert predicted[520:550].any()
    html, _ = series_report(det, test, scores, predicted, data_info={"name": "t"}, fingerprint="f")
    assert "top features (share)" in html
    row = html[html.index("top features (share)") :]
    assert row.index("vibration (") < min(row.index("flow ("), row.index("pressure ("))
    # the detail figure shows the sensor that drives the highest score, not merely the first column
    assert "Input and reconstruction of the feature that contributes most there (vibration)" in html
    assert 'alt="sensor contributions"' in html


def test_cli_bench_writes_json_and_markdown(tmp_path, capsys):
    require_dataset("skab")
    from reconad.cli import main

    code = main(["bench", "skab", "--out", str(tmp_path), "--files", "valve1/0.csv", "--epochs", "1", "--quiet"])
    assert code == 0
    result = json.loads((tmp_path / "skab.json").read_text())
    assert set(result["summary"]) == {"reconad", "IsolationForest", "PCA"}
    assert result["configuration"]["epochs_override"] == 1
    assert "| reconad | 1 |" in (tmp_path / "skab.md").read_text()
    assert "pooled_f1" in capsys.readouterr().out


def test_cli_bench_preset_runs_the_preset_and_keeps_the_defaults_tables(tmp_path):
    require_dataset("skab")
    from reconad.cli import main
    from reconad.data.skab import TRAIN_ROWS
    from reconad.metrics import point_f1

    (tmp_path / "skab.json").write_text("the defaults' results")  # must survive a preset's run
    code = main(["bench", "skab", "--out", str(tmp_path), "--files", "other/6.csv", "--epochs", "2", "--quiet",
                 "--preset", "whole-recording"])
    assert code == 0
    assert (tmp_path / "skab.json").read_text() == "the defaults' results"
    result = json.loads((tmp_path / "skab-whole-recording.json").read_text())
    configuration = result["configuration"]
    assert configuration["preset"] == "whole-recording"
    assert configuration["reconad"]["smooth"] == 31 and configuration["reconad"]["min_scale"] == 0.01
    assert configuration["reconad"]["threshold"] == "batch_split(k=2.0)"
    markdown = (tmp_path / "skab-whole-recording.md").read_text()
    assert markdown.startswith("# SKAB: reconad preset `whole-recording` vs")
    assert "batch_split(k=2.0)" in markdown
    # the table's reconad row is the preset's own detector, flags and all
    x = load_skab_file("other/6.csv").features.to_numpy(dtype=np.float32)
    labels = load_skab_file("other/6.csv").labels[TRAIN_ROWS:]
    det = reconad.SeriesDetector.from_preset("whole-recording", random_state=0, epochs=2, verbose=False)
    # the protocol flags the rows after training as one batch (BatchSplit splits that batch)
    flags = det.fit(x[:TRAIN_ROWS]).threshold_.predict(det.anomaly_score(x)[TRAIN_ROWS:])
    (row,) = [r for r in result["per_file"] if r["detector"] == "reconad"]
    assert row["f1"] == pytest.approx(point_f1(labels, flags))
    assert row["tp"] + row["fp"] == int(flags.sum())


def test_bench_refuses_an_image_preset_naming_the_series_ones():
    from reconad.bench import run_suite
    from reconad.cli import main

    with pytest.raises(InputError, match="mnist-slides.*ImageDetector.*sine-notebook.*whole-recording"):
        run_suite("skab", preset="mnist-slides")
    with pytest.raises(SystemExit) as exit_info:  # argparse: the choices name the series presets
        main(["bench", "skab", "--preset", "mnist-slides"])
    assert exit_info.value.code == 2


def test_summary_line_formats_floats_counts_and_missing_values():
    line = summary_line({"pooled_f1": 0.76249, "events": 34, "median_delay": None, "mean_auprc": 1.0})
    assert line == "pooled_f1 0.762 events 34 median_delay – mean_auprc 1.000"

"""NAB and SKAB loaders on the real data, short training series and explain (the benchmarks: test_bench.py)."""

import json
import logging

import numpy as np
import pandas as pd
import pytest
from conftest import require_dataset

import reconad
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
        (400, 8, 80, 1),  # SKAB's shape: the calibration tail (80 rows) limits the window, whatever the features
        (400, 1, 80, 1),  # one feature: the same
        (3000, 1, 100, 10),  # the sine benchmark's shape: nothing changes (231 windows at stride 10)
        (3000, 8, 100, 10),  # long enough for 8 features too
        (1000, 1, 100, 3),  # 800 training rows: stride 10 would give 71 windows; stride 3 gives 234 (>= 200)
    ],
)
def test_window_fits_the_calibration_tail_and_the_stride_gives_enough_windows(n, d, window, stride):
    det = reconad.SeriesDetector(epochs=1, random_state=0, verbose=False).fit(_series(n, d=d))
    assert (det.window_, det.stride_) == (window, stride)
    n_train = n - int(round(0.2 * n))
    assert (n_train - det.window_) // det.stride_ + 1 >= min(200, n_train - det.window_ + 1)


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
    one = reconad.SeriesDetector(epochs=2, random_state=0, verbose=False).fit(x[:500, :1])
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


def test_report_names_the_top_features_of_each_region():
    from reconad.report_inputs import series_report_of

    x = pd.DataFrame(_series(600, d=3), columns=["flow", "pressure", "vibration"])
    det = reconad.SeriesDetector(epochs=5, random_state=0, verbose=False).fit(x.iloc[:500])
    test = x.copy()
    test.loc[520:549, "vibration"] += 3.0
    scores, predicted = det.anomaly_score(test), det.predict(test)
    assert predicted[520:550].any()
    html, _ = series_report_of(det, test, scores, predicted, data_info={"name": "t"}, fingerprint="f")
    assert "top sensors (share)" in html
    row = html[html.index("top sensors (share)") :]
    assert row.index("vibration (") < min(row.index("flow ("), row.index("pressure ("))
    assert 'alt="sensor contributions"' in html
    # the timeline draws every sensor with its reconstruction (beyond six, those that drive the flagged rows)
    from reconad.report.timeline import sensors_to_draw

    assert '"title":"vibration"' in html and '"label":"vibration reconstruction"' in html
    assert sensors_to_draw(det.explain(test), predicted, 3, limit=1) == [2]  # vibration

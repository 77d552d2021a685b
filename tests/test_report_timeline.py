"""The series report's timeline without a browser: min/max decimation, run-length bands, the x axis, the JSON the
page draws, the static fallback, the training stretch and the vendored chart library shipped as package data."""

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reconad.errors import InputError
from reconad.report import ModelFacts, SeriesDetail, build_timeline, series_report, timeline_figure
from reconad.report.decimate import axis_values, bands, bucket_rows, minmax, runs
from reconad.report.timeline import asset, payload

ROOT = Path(__file__).resolve().parents[1]


def test_minmax_keeps_each_buckets_extremes_in_the_order_they_occur():
    values = np.array([1.0, 5.0, 2.0, 0.0, -3.0, 4.0, 7.0, np.nan, np.nan, np.nan])
    # buckets of 3: [1, 5, 2] -> min 1 (row 0) before max 5; [0, -3, 4] -> -3 then 4; [7, nan, nan] -> 7, 7;
    # [nan] -> nan, nan
    drawn = minmax(values, 3)
    assert np.array_equal(drawn[:6], [1.0, 5.0, -3.0, 4.0, 7.0, 7.0]) and np.isnan(drawn[6:]).all()
    assert np.array_equal(minmax(np.array([3.0, 9.0, -1.0]), 3), [9.0, -1.0])  # the max came first
    assert np.array_equal(bucket_rows(10, 3), [0, 2, 3, 5, 6, 8, 9, 9])  # first and last row of each bucket
    assert np.array_equal(bucket_rows(4, 1), [0, 1, 2, 3])


def test_a_one_row_spike_survives_decimation_of_ten_million_rows():
    values = np.zeros(10_000_000, dtype=np.float32)
    values[7_654_321] = 9.0
    values[1_234_567] = -2.0
    drawn = minmax(values, 2_500)
    assert len(drawn) == 8_000 and drawn.max() == 9.0 and drawn.min() == -2.0
    assert drawn[2 * (7_654_321 // 2_500) + 1] == 9.0  # in its own bucket, after the bucket's minimum


def test_runs_and_bands_in_rows_and_in_time():
    flags = np.array([1, 1, 0, 0, 1, 0, 0, 0, 1, 1])
    assert runs(flags).tolist() == [[0, 2], [4, 5], [8, 10]]
    axis = np.arange(10.0) * 60  # one row a minute
    spans, gap = bands(runs(flags), axis, 1)
    assert gap == 0 and spans.tolist() == [[0, 120], [240, 300], [480, 600]]  # the last run ends one step past
    merged, gap = bands(runs(flags), axis, 1, limit=2)
    assert gap == 2 and merged.tolist() == [[0, 300], [480, 600]]  # the 2-row gap closes, the 3-row one stays
    stamps = pd.date_range("2024-03-01 12:00", periods=3, freq="h", tz="Europe/Berlin")
    seconds, kind = axis_values(stamps, 3)
    assert kind == "time" and seconds[0] == pd.Timestamp("2024-03-01 12:00").timestamp()  # the clock as written
    assert axis_values(None, 3)[1] == "rows" and axis_values(np.array([0.5, 1.0, 1.5]), 3)[1] == "numbers"
    assert axis_values(np.array([2.0, 1.0, 3.0]), 3)[1] == "rows"  # backwards: drawn on row numbers
    assert axis_values(pd.DatetimeIndex(["2024-01-01", None, "2024-01-03"]), 3)[1] == "rows"


def series(rows: int = 500):
    t = np.arange(rows)
    x = np.column_stack([np.sin(t / 9), np.cos(t / 7)])
    scores = np.full(rows, 0.01)
    scores[300:310] = 5.0
    predicted = (scores > 1).astype(np.int8)
    return x, scores, predicted


def test_the_payload_is_compact_json_with_null_for_gaps():
    x, scores, predicted = series()
    x[3, 0] = np.nan
    data = build_timeline(x, scores, predicted, threshold=1.0, names=["a</script><b>", "b"], training=(0, 200))
    text = payload(data)
    assert "<" not in text and ">" not in text  # no markup can end the script block
    body = json.loads(text)
    assert body["panels"][0]["title"] == "a</script><b>" and body["panels"][0]["lines"][0]["values"][3] is None
    assert body["panels"][2]["log"] is True  # 0.01 .. 5: more than a decade, the threshold readable
    assert {b["name"]: b["spans"] for b in body["bands"]} == {"predicted": [[300, 310]], "training": [[0, 200]]}
    assert re.search(r"0\.84147\b", text) and "0.8414709848" not in text  # sin(1) to five significant digits


def test_the_static_figure_shades_the_training_rows_and_regions():
    from matplotlib.patches import Rectangle

    x, scores, predicted = series()
    data = build_timeline(x, scores, predicted, threshold=1.0, names=["a", "b"], training=(0, 200))
    figure = timeline_figure(data)
    assert len(figure.axes) == 3 and figure.axes[-1].get_yscale() == "log"
    for ax in figure.axes:  # every panel: the training rows (full height, grey) and the flagged region
        spans = sorted((p.get_x(), p.get_x() + p.get_width()) for p in ax.patches if isinstance(p, Rectangle))
        assert spans == [(0, 200), (300, 310)], spans
    assert "training rows" in figure.axes[-1].get_legend_handles_labels()[1]


def test_series_report_draws_the_training_stretch_and_refuses_one_outside_the_rows():
    x, scores, predicted = series()
    facts = ModelFacts("SeriesDetector", "dense", threshold=1.0)
    html, _ = series_report(x, scores, predicted, facts=facts, detail=SeriesDetail(0, x), data_info={"name": "t"},
                            training=(0, 200))
    assert '"name":"training"' in html and "training rows (0 to 199) shaded grey on every panel" in html
    assert "top sensors (share)" in html and "<td>n/a</td>" in html  # two sensors, no contributions given
    one, _ = series_report(x[:, :1], scores, predicted, facts=facts, detail=None, data_info={"name": "t"})
    assert "<td>feature 0</td>" in one and '"name":"training"' not in one  # one sensor: the column names it
    with pytest.raises(InputError, match="training"):
        series_report(x, scores, predicted, facts=facts, detail=None, data_info={"name": "t"}, training=(100, 900))


def test_the_chart_library_ships_in_the_wheel_and_reads_through_importlib_resources(tmp_path):
    assert asset("uPlot.iife.min.js").startswith("/*! https://github.com/leeoniya/uPlot (v1.6.32) */")
    assert "MIT License" in asset("uPlot.LICENSE")
    source = tmp_path / "source"
    source.mkdir()
    for name in ("src", "pyproject.toml", "README.md"):
        (subprocess.run(["cp", "-r", str(ROOT / name), str(source)], check=True))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(tmp_path / "wheel")], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp_path / "wheel").glob("reconad-*.whl"))
    installed = tmp_path / "installed"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(installed)
    assert {f"reconad/report/assets/{n}" for n in ("uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE",
                                                   "timeline.js", "timeline.css")} <= names
    check = ("import reconad.report.timeline as t; print(t.__file__); "
             "print(len(t.asset('uPlot.iife.min.js')), len(t.head_html()) > 50_000)")
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    where, size, whole = done.stdout.split()
    assert where.startswith(str(installed)) and int(size) > 50_000 and whole == "True"


def test_top_regions_rank_by_peak_score_with_times():
    from reconad.report import top_regions
    from reconad.report.decimate import runs

    scores = np.array([0, 5, 1, 0, 7, 0, 5, np.nan, 2])
    flagged = np.array([0, 1, 1, 0, 1, 0, 1, 1, 1])  # runs (1, 3), (4, 5), (6, 9)
    html = top_regions(runs(flagged), scores, ["flow"], shown=2)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    # the highest peak first; of the two peaks of 5, the earlier region; a NaN inside a region is ignored
    assert cells == ["1", "4", "4", "1", "7.000", "4", "flow", "2", "1", "2", "2", "5.000", "1", "flow"]
    assert "(of 3)" in html
    time = pd.date_range("2024-05-01", periods=9, freq="h")
    timed = re.findall(r"<td[^>]*>([^<]*)</td>", top_regions(runs(flagged), scores, ["flow"], time=time, shown=1))
    assert timed == ["1", "2024-05-01 04:00:00", "2024-05-01 04:00:00", "4–4 (1)", "7.000", "2024-05-01 04:00:00",
                     "flow"]


def test_one_sensor_gets_the_same_sections_and_a_chart_to_the_last_row():
    """The issue's case: 22,700 dated rows, one sensor. The chart and its reconstruction reach the last row, on
    the dates, and the sections are those of a multi-sensor report."""
    from reconad.report import detail_range

    rows = 22_700
    t = np.arange(rows)
    value = np.sin(t / 40)
    scores = np.full(rows, 0.02)
    scores[22_650:22_660] = 9.0  # the anomaly sits in the last rows
    predicted = (scores > 1).astype(np.int8)
    time = pd.date_range("2021-06-01", periods=rows, freq="5min")
    start, end = detail_range(scores, 64)
    assert (start, end) == (0, rows)  # the whole series is reconstructed, not the first 20,000 rows
    facts = ModelFacts("SeriesDetector", "dense", threshold=1.0)
    sections = re.compile(r"<h2>([^<]+)</h2>")
    one, _ = series_report(pd.DataFrame({"flow": value}), scores, predicted, facts=facts,
                           detail=SeriesDetail(0, value[:, None] * 0.9), time=time, data_info={"name": "one"})
    two, _ = series_report(np.column_stack([value, value]), scores, predicted, facts=facts,
                           detail=SeriesDetail(0, np.column_stack([value, value])), data_info={"name": "two"})
    assert sections.findall(one) == sections.findall(two) == ["The data", "Training history", "Scores and regions",
                                                              "Metrics", "Model card"]
    assert "Top regions" in one and "<td>flow</td>" in one
    assert "2021-08-18 15:30:00" in one  # row 22,650: 78 days and 15.5 hours after the first
    body = json.loads(re.search(r'class="rc-data">(.*?)</script>', one, re.S).group(1))
    assert body["kind"] == "time" and body["x"][-1] == time[-1].timestamp()
    reconstruction = body["panels"][0]["lines"][1]["values"]
    assert reconstruction[-1] is not None and reconstruction[-1] == pytest.approx(0.9 * value[-1], abs=1e-4)
    assert body["panels"][-1]["log"] is True  # 0.02 .. 9: the threshold of 1 would lie near zero on a linear axis


def test_beyond_six_sensors_the_timeline_draws_those_behind_the_flagged_rows():
    from reconad.report.timeline import sensors_to_draw

    rows, count = 200, 8
    contributions = np.full((rows, count), 0.01)
    contributions[:, 1] = 0.5  # large everywhere but not where the anomaly is
    contributions[100:110, 7] = 9.0  # sensor 7 drives the flagged rows
    predicted = np.zeros(rows, dtype=np.int8)
    predicted[100:110] = 1
    chosen = sensors_to_draw(contributions, predicted, count)
    assert len(chosen) == 6 and 7 in chosen and chosen == sorted(chosen)
    assert chosen == [0, 1, 2, 3, 4, 7]  # the flagged rows: 7, then 1, then the ties in column order
    assert sensors_to_draw(None, predicted, count) == [0, 1, 2, 3, 4, 5]
    x = np.arange(rows * count, dtype=float).reshape(rows, count)
    names = [f"s{j}" for j in range(count)]
    data = build_timeline(x, np.ones(rows), predicted, threshold=2.0, names=names, sensors=chosen,
                          reconstruction=(0, x + 0.5))
    assert [p.title for p in data.panels[:-1]] == ["s0", "s1", "s2", "s3", "s4", "s7"]
    assert data.panels[5].lines[1].values[3] == x[3, 7] + 0.5  # each panel's own reconstruction column
    assert "6 of the 8 sensors are drawn: those contributing most to the flagged rows (s0, s1, s2, s3, s4, s7)" \
        in " ".join(data.notes)


def test_minmax_in_chunks_matches_one_pass(monkeypatch):
    from reconad.report import decimate

    values = np.random.default_rng(3).standard_normal(10_007)
    values[::97] = np.nan
    whole = decimate.minmax(values, 7)
    monkeypatch.setattr(decimate, "CHUNK_ROWS", 50)  # chunks of 49 rows: 7 whole buckets each
    assert np.array_equal(decimate.minmax(values, 7), whole, equal_nan=True)
    first = values[:7]  # a NaN in row 0 is skipped
    expected = [np.nanmin(first), np.nanmax(first)]
    assert list(whole[:2]) == (expected if np.nanargmin(first) < np.nanargmax(first) else expected[::-1])

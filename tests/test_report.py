import base64
import io
import re

import numpy as np
import pandas as pd
import pytest

import reconad
from reconad import report, report_inputs
from reconad.errors import InputError
from reconad.metrics.evaluation import series_evaluation
from reconad.report_inputs import image_report_of, model_card, series_report_of

IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)">')



def decoded_images(html: str) -> dict[str, tuple[int, int]]:
    """``alt -> (width, height)`` of every embedded figure, each decoded as a PNG."""
    from PIL import Image

    sizes = {}
    for data, alt in IMG.findall(html):
        with Image.open(io.BytesIO(base64.b64decode(data))) as picture:
            assert picture.format == "PNG"
            sizes[alt] = picture.size
    return sizes


def assert_self_contained(html: str, scripts: bool = False) -> None:
    """One file that needs no network; ``scripts``: inline scripts allowed (the series report's timeline)."""
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    if scripts:
        assert re.findall(r"<script[^>]*>", html) == ["<script>", "<script>", '<script type="application/json" '
                                                      'class="rc-data">'], "scripts other than the inline ones"
    else:
        assert "<script" not in html.lower()
    assert not re.search(r'(src|href)="(?!data:|#)', html), "a resource outside the file"
    assert "http://" not in html and "https://" not in html
    assert html.count("<img ") == len(IMG.findall(html))  # every image is an embedded PNG


@pytest.fixture(scope="module")
def series_run():
    rng = np.random.default_rng(0)
    t = np.arange(700)
    frame = pd.DataFrame({"flow <l/min>": np.sin(t / 8) + 0.05 * rng.standard_normal(700),
                          "temp": np.cos(t / 8) + 0.05 * rng.standard_normal(700)})
    labels = np.zeros(300, dtype=np.int8)
    labels[200:230] = 1
    test = frame.iloc[400:].reset_index(drop=True).copy()
    test.loc[200:229, "temp"] += 3
    det = reconad.SeriesDetector("dense", window=16, stride=4, epochs=2, random_state=3, verbose=False)
    det.fit(frame.iloc[:400], validation=(test, labels))
    scores, predicted = det.anomaly_score(test), det.predict(test)
    time = pd.date_range("2024-01-01", periods=300, freq="s")
    return det, test, scores, predicted, labels, time


def test_series_report_structure(series_run):
    det, test, scores, predicted, labels, time = series_run
    info = {"name": "pump.csv", "shape": "300 × 2", "time span": report.time_span(time, 300),
            "fingerprint": report.fingerprint_arrays(test)}
    html, evaluation = series_report_of(det, test, scores, predicted, labels, time=time, data_info=info,
                                        fingerprint=info["fingerprint"], title="pump <test>")
    assert_self_contained(html, scripts=True)
    sections = re.findall(r'<section id="([^"]+)"><h2>([^<]+)</h2>', html)
    assert [title for _, title in sections] == ["The data", "Training history", "Scores and regions", "Threshold",
                                                "Metrics", "Model card"]
    for anchor, _ in sections:  # the table of contents links every section
        assert f'href="#{anchor}"' in html
    figures = decoded_images(html)
    assert set(figures) == {f"{det.model}: training history", "score timeline", "sensor contributions",
                            "calibration scores and threshold"}  # 300 rows: no separate zoom around the peak
    assert all(w > 300 and h > 200 for w, h in figures.values()), figures
    # the metrics table: label-free and oracle rows side by side, with the threshold-free metrics
    assert '<tr class="label-free"><td>label-free' in html and '<tr class="oracle"><td>oracle' in html
    assert "AUPRC" in html and "ROC-AUC" in html
    assert evaluation["oracle"]["f1"] >= evaluation["label_free"]["f1"] - 1e-12
    assert evaluation["label_free"]["threshold"] == pytest.approx(float(det.threshold_))
    # model card: seed, version, threshold and its source, fingerprint; text is escaped
    for text in (f"{reconad.__version__}", det.threshold_source_, info["fingerprint"], "<th>seed</th>",
                 "2024-01-01 00:00:00 → 2024-01-01 00:04:59"):
        assert text in html, text
    assert "flow &lt;l/min&gt;" in html and "<l/min>" not in html and "pump &lt;test&gt;" in html
    assert "val_auprc" in html  # validation metrics of the training history
    # the fitted window and stride, and which features the model saw centred (none drift here)
    assert f"<td>{det.window_}, {det.stride_}</td>" in html
    assert "centred on each window&#x27;s mean (drift)</th><td>none</td>" in html
    # the interactive timeline: dates on the x axis (seconds since 1970), one panel per sensor and the score
    chart = timeline_payload(html)
    start = pd.Timestamp("2024-01-01").timestamp()
    assert chart["kind"] == "time" and chart["x"][0] == start and chart["x"][-1] == start + 299
    assert [p["title"] for p in chart["panels"]][:2] == ["flow <l/min>", "temp"]
    assert [line["label"] for line in chart["panels"][1]["lines"]] == ["temp", "temp reconstruction"]
    assert chart["panels"][1]["lines"][0]["values"][205] == pytest.approx(float(test["temp"].iloc[205]), rel=1e-4)
    bands = {band["name"]: band["spans"] for band in chart["bands"]}
    assert bands["labels"] == [[start + 200, start + 230]]  # rows 200-229, to the next row's time
    assert set(bands) == {"labels", "predicted"}  # no training rows in this data
    assert "Top regions" in html and "2024-01-01" in html.split("Top regions")[1]  # regions with their times
    # the model card and its parameters: collapsed at the end
    assert html.index("<details><summary>SeriesDetector (dense)") > html.index('<h2>Model card</h2>')


def timeline_payload(html: str) -> dict:
    """The JSON the page's timeline draws."""
    import json

    found = re.search(r'<script type="application/json" class="rc-data">(.*?)</script>', html, re.S)
    assert found, "no interactive timeline"
    return json.loads(found.group(1))


def test_model_card_names_the_drifting_features():
    t = np.arange(600)
    frame = pd.DataFrame({"temp": 20 + 0.01 * t + 0.05 * np.sin(t), "flow": np.sin(t / 3)})
    det = reconad.SeriesDetector(window=16, epochs=1, random_state=0, verbose=False).fit(frame)
    assert det.drifting_features_ == ["temp"]
    assert model_card(det)["centred on each window's mean (drift)"] == "temp"


def test_model_card_shows_the_values_applied_under_readable_names():
    t = np.arange(600)
    frame = pd.DataFrame({"flow": np.sin(t / 3), "level": np.cos(t / 5)})
    det = reconad.SeriesDetector(window=16, epochs=1, random_state=0, verbose=True).fit(frame)
    facts = report_inputs.model_facts(det)
    card = facts.card
    threshold = float(det.threshold_)
    assert card["threshold"] == f"mean + 4 std of the calibration scores = {report.fmt(threshold)}"
    assert card["smoothing of the scores"] == f"moving average over {det.scorer_.smooth} steps"
    assert det.scorer_.smooth == 5  # dense: the family's default smoothing, applied though no option set it
    params = facts.parameters
    assert params["threshold rule"] == "mean + 4 std (the default)" and params["device"] == "auto (cpu)"
    assert params["learning rate (lr)"] == "0.001" and params["batch size"] == "32"
    assert not [key for key in params if "_" in key.split(" (")[0]], params  # readable names, not raw keys
    html = report.model_card_html(facts)
    assert "verbose" not in html and "n/a" not in html, html
    for key in ("batch_size", "score_stride", "calibration_split"):
        assert f"<td>{key}</td>" not in html


def test_numbers_keep_four_significant_digits_side_by_side():
    assert [report.fmt(v) for v in (0.691, 0.7782, 1234.0, 3.0)] == ["0.6910", "0.7782", "1234", "3.000"]


def test_report_without_labels_has_no_metrics_table(series_run, tmp_path):
    det, test, scores, predicted, _, _ = series_run
    html, evaluation = series_report_of(det, test, scores, predicted, data_info={"name": "x"}, fingerprint="sha256:0",
                                        training=(0, 120))
    assert evaluation is None and "No labels given" in html
    bands = {band["name"]: band["spans"] for band in timeline_payload(html)["bands"]}
    assert bands["training"] == [[0, 120]]  # rows, no time column: shaded on the chart (and said in its caption)
    assert "training rows (0 to 119) shaded grey" in html
    path = report.write_report(tmp_path / "r.html", html)
    assert path.read_text(encoding="utf-8") == html and [p.name for p in tmp_path.iterdir()] == ["r.html"]
    with pytest.raises(InputError, match="does not exist"):
        report.write_report(tmp_path / "missing" / "r.html", html)


def test_metrics_html_several_runs_and_missing_values():
    labels = np.array([0, 0, 1, 1, 0, 0])
    scores = np.array([0.1, 0.2, 0.9, 0.8, 0.3, 0.1])
    good = series_evaluation(labels, scores, (scores > 0.5).astype(int), 0.5, "held-out tail")
    none = series_evaluation(np.zeros(6), scores, np.zeros(6), 0.5)
    assert good["threshold_free"]["roc_auc"] == 1.0 and good["label_free"]["f1"] == 1.0
    assert good["oracle"]["threshold"] == pytest.approx(0.8)
    html = report.metrics_html({"run A": good, "run B": none})
    assert html.count('class="label-free"') == 2 and html.count('class="oracle"') == 2
    assert "<th>run</th>" in html and "n/a" in html  # AUPRC is undefined without anomalies
    assert report.fmt(float("nan")) == "n/a" and report.fmt(1234) == "1,234" and report.fmt(0.123456) == "0.1235"


def test_fingerprints(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc")
    assert report.fingerprint_file(path) == (
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")  # sha256("abc")
    a = np.arange(4)
    assert report.fingerprint_arrays(a) == report.fingerprint_arrays(a.astype(np.float32))
    assert report.fingerprint_arrays(a) != report.fingerprint_arrays(a + 1)


def test_image_report_shows_roc_histograms_reconstructions_and_error_maps():
    from reconad.data import load_digits_images

    images, digits = load_digits_images()
    train = images[:300][digits[:300] == 0]
    test, labels = images[300:400], (digits[300:400] != 0).astype(np.int8)
    det = reconad.ImageDetector("conv", latent_dim=4, epochs=1, random_state=0, verbose=False).fit(train)
    scores, predicted = det.anomaly_score(test), det.predict(test)
    html, evaluation = image_report_of(det, test, scores, predicted, labels, data_info={"name": "digits"},
                                       fingerprint="sha256:1")
    assert_self_contained(html)
    figures = decoded_images(html)
    assert set(figures) == {f"{det.model}: training history", "ROC curve", "score histograms",
                            "inputs, reconstructions and error maps", "the worst images with their anomaly maps"}
    assert "event_f1" not in evaluation["label_free"]  # event metrics mean nothing for independent images
    assert '<tr class="label-free">' in html and '<tr class="oracle">' in html
    assert "image shape (C, H, W)" in html


def test_long_series_are_decimated_and_reconstructed_around_the_peak(series_run, monkeypatch):
    det, test, scores, predicted, labels, time = series_run
    from reconad.report import series as series_module

    monkeypatch.setattr(series_module, "MAX_POINTS", 100)
    monkeypatch.setattr(series_module, "DETAIL_ROWS", 100)
    monkeypatch.setattr(series_module, "PEAK_ROWS", 60)
    start, end = series_module.detail_range(scores, det.window)
    assert end - start == 100 and start <= int(np.argmax(scores)) < end
    data = report.build_timeline(test, scores, predicted, labels, threshold=1.0, names=["a", "b"], time=time,
                                 buckets=100)
    assert data.size == 3 and len(data.x) == 200  # 100 buckets of 3 rows, each drawn as its min and max
    drawn = data.panels[-1].lines[0].values
    assert drawn.max() == pytest.approx(scores.max()) and drawn.min() == pytest.approx(scores.min())
    start_s = time[0].timestamp()
    assert list(data.x[:4]) == [start_s, start_s + 2, start_s + 3, start_s + 5] and data.x[-1] == start_s + 299
    html, _ = series_report_of(det, test, scores, predicted, labels, time=time, data_info={"name": "long"},
                               fingerprint="sha256:2")
    figures = decoded_images(html)
    assert {"score timeline", "around the highest score", "sensor contributions"} <= set(figures)
    assert "The reconstruction is drawn for rows" in html and "around the highest score" in html
    peaks = series_module.block_max(det.explain(test))  # the contributions on the heatmap's blocks
    assert peaks.shape == (100, 2) and np.allclose(peaks.max(axis=0), det.explain(test).max(axis=0))


@pytest.mark.parametrize("time", ["steps", "datetime64", "timestamps", "numbers"])
def test_contributions_figure_draws_every_feature_on_its_time_axis(time):
    from matplotlib.dates import date2num

    from reconad.plots import plot_contributions

    values = np.full((50, 3), 0.01)
    values[20:30, 1] = 5.0  # the second sensor drives rows 20-29
    values[0, 0] = 0.0  # an exact zero must not break the log scale
    stamps = pd.date_range("2024-01-01", periods=50, freq="s")
    axis = {"steps": None, "datetime64": stamps.to_numpy(), "timestamps": np.asarray(list(stamps), dtype=object),
            "numbers": np.arange(50) * 0.5}[time]
    predicted = np.zeros(50, dtype=int)
    predicted[21:29] = 1
    fig = plot_contributions(values, ["flow", "pressure", "vibration"], predicted, axis)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["flow", "pressure", "vibration"]
    mesh = ax.collections[0]
    drawn = np.asarray(mesh.get_array()).reshape(3, 50)  # (D, T): one row per feature
    assert int(np.argmax(drawn[:, 25])) == 1 and drawn.min() > 0
    left, right = ax.get_xlim()
    first = {"steps": -0.5, "numbers": -0.25}.get(time, date2num(stamps[0] - pd.Timedelta("0.5s")))
    assert left == pytest.approx(first, abs=1e-9)
    assert ax.get_legend_handles_labels()[1] == ["predicted (label-free)"]
    png = report.figure_png(fig)
    assert png.startswith(b"\x89PNG")


REPORT_FROM_ARRAYS = """
import sys
import numpy as np
from reconad.report import ImageSamples, ModelFacts, SeriesDetail, image_report, series_report

rng = np.random.default_rng(0)
x = rng.standard_normal((300, 2))
scores = np.abs(x).sum(axis=1)
predicted = (scores > 3).astype(np.int8)
labels = np.zeros(300, dtype=np.int8)
labels[100:120] = 1
facts = ModelFacts("SeriesDetector", "dense", threshold=3.0, threshold_source="held-out tail",
                   history=[{"epoch": 1, "train_loss": 0.5}, {"epoch": 2, "train_loss": 0.4}],
                   card={"model": "dense", "seed (seed_)": 7}, parameters={"window": 16})
html, evaluation = series_report(x, scores, predicted, labels, facts=facts, detail=SeriesDetail(0, 0.9 * x),
                                 contributions=x ** 2, data_info={"name": "arrays"})
assert evaluation["label_free"]["threshold"] == 3.0 and "top sensors (share)" in html
images = rng.random((20, 1, 8, 8))
image_labels = (np.arange(20) >= 10).astype(np.int8)
samples = ImageSamples(images[:4], 0.9 * images[:4], (0.1 * images[:4]) ** 2, ["a", "b", "c", "d"])
html, evaluation = image_report(images.mean(axis=(1, 2, 3)), image_labels, image_labels, facts=facts,
                                samples=samples, data_info={"name": "images"})
assert evaluation["label_free"]["f1"] == 1.0 and 'alt="ROC curve"' in html
print("torch" in sys.modules, "reconad.detectors" in sys.modules)
"""


def test_the_report_is_built_from_arrays_alone():
    """The report draws what its caller computed: no detector, no model, no torch."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", REPORT_FROM_ARRAYS], capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def test_the_threshold_section_shows_the_calibration_and_what_each_budget_gives():
    from reconad.report import ModelFacts, SeriesDetail, series_report
    from reconad.thresholds import AlarmBudget, alarm_events

    rng = np.random.default_rng(0)
    calibration = rng.exponential(size=20_000)
    scores = np.concatenate([rng.exponential(size=3_000), np.full(20, 30.0)])  # one clear event at the end
    x = np.zeros((len(scores), 1))
    predicted = (scores > 8.0).astype(np.int8)
    facts = ModelFacts("SeriesDetector", "dense", threshold=8.0, threshold_source="out-of-fold",
                       calibration=calibration)
    html, _ = series_report(x, scores, predicted, facts=facts, detail=SeriesDetail(0, x), data_info={"name": "t"})
    assert "<h2" in html and "Threshold" in html and "calibration scores and threshold" in html
    level = float(AlarmBudget(alarms=2).fit(calibration))
    assert report.fmt(level) in html and f"{alarm_events(scores, level):,}" in html
    without, _ = series_report(x, scores, predicted, facts=ModelFacts("SeriesDetector", "dense", threshold=8.0),
                               detail=SeriesDetail(0, x), data_info={"name": "t"})
    assert "calibration scores and threshold" not in without

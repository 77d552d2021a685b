import html
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import reconad
from reconad.cli import main

FAST = ["--window", "16", "--stride", "8", "--epochs", "2", "--hidden-size", "8", "--random-state", "0", "--quiet"]


# One torch thread: on a busy 2-core machine two threads per process oversubscribe the cores and make
# training ~8x slower (measured on `reconad demo --quick`: 13 s with one thread, 106 s with two).
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "reconad", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600, env=ONE_THREAD)



def call(capsys, *args):
    """``reconad ARGS`` in this process (no interpreter start-up): exit code, stdout, stderr."""
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_bad_input(code, err):
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def leftovers(folder):
    """Files in ``folder`` other than the inputs: outputs or temporary files."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("in"))


def test_version_and_help(capsys):
    out = run_cli("--version")  # the installed entry point
    assert out.returncode == 0 and out.stdout.strip() == f"reconad {reconad.__version__}"
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for command in ("demo", "fit", "score", "evaluate"):
        assert command in text
    for command in ("fit", "score", "evaluate"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--quiet" in capsys.readouterr().out
    assert main([]) == 2  # no command: usage, exit 2


def test_demo_end_to_end(demo_folder):
    folder, out = demo_folder
    assert out.returncode == 0, out.stderr
    assert "label-free" in out.stdout and "oracle" in out.stdout
    metrics = json.loads((folder / "metrics.json").read_text())
    for result in metrics["series"].values():
        for protocol in ("notebook", "independent"):
            m = result["protocols"][protocol]
            assert 0 <= m["auprc"] <= 1 and 0 <= m["label_free_f1"] <= 1 and 0 <= m["oracle_f1"] <= 1
            assert m["oracle_f1"] >= m["label_free_f1"] - 1e-12  # an oracle bounds the label-free threshold
    for name in ("data.png", "history.png", "scores_default_independent.png",
                 "scores_notebook_preset_notebook.png"):
        assert (folder / name).stat().st_size > 10_000, name
    report = (folder / "report.html").read_text()
    assert report.startswith("<!DOCTYPE html>") and report.count('<img src="data:image/png;base64,') >= 6
    for section in ("The data", "Training history", "Scores and regions", "Metrics", "Model cards"):
        assert f"<h2>{section}</h2>" in report, section
    if hasattr(reconad, "ImageDetector"):  # the 8x8-digits run of reconad.experiments.image_demo
        assert "<h2>Images: 8x8 digits</h2>" in report and 0.5 < metrics["images"]["roc_auc"] <= 1
        assert 'alt="roc curve"' in report and 'alt="reconstructions"' in report
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary files left


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory):
    """``reconad demo --quick`` run once for every test that needs it (this module and the browser test)."""
    return run_demo_once(tmp_path_factory)


_DEMO: dict = {}


def run_demo_once(tmp_path_factory):
    if "run" not in _DEMO:
        folder = tmp_path_factory.mktemp("demo") / "reconad-demo"
        _DEMO["run"] = (folder, run_cli("demo", "--quick", "--quiet", "--out", str(folder)))
    return _DEMO["run"]


def test_bad_demo_output_exits_2_with_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = call(capsys, "demo", "--quick", "--quiet", "--out", blocker / "sub")
    assert_bad_input(code, err)


# ---- files: a synthetic CSV ---------------------------------------------------------------------------------------


def synthetic_frame(rows: int, anomaly: tuple[int, int] | None = None, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    frame = pd.DataFrame({
        "t": t,
        "a": np.sin(2 * np.pi * t / 25) + 0.05 * rng.standard_normal(rows),
        "b": np.cos(2 * np.pi * t / 25) + 0.05 * rng.standard_normal(rows),
        "c": 0.1 * rng.standard_normal(rows),
    })
    frame["y"] = 0
    if anomaly:
        start, end = anomaly
        frame.loc[start:end - 1, ["a", "c"]] += 3.0
        frame.loc[start:end - 1, "y"] = 1
    return frame


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    synthetic_frame(400).to_csv(folder / "in_train.csv", sep=";", index=False)
    synthetic_frame(300, anomaly=(150, 180), seed=1).to_csv(folder / "in_test.csv", index=False)
    code = main(["fit", str(folder / "in_train.csv"), "--out", str(folder / "model.reconad"), "--time-col", "t",
                 "--label-col", "y", "--model", "conv1d", *FAST])
    assert code == 0
    return folder


def test_fit_score_evaluate_on_a_synthetic_csv(fitted, capsys):
    folder = fitted
    det = reconad.load(folder / "model.reconad")
    assert det.feature_names_in_ == ["a", "b", "c"] and det.window == 16 and det.seed_ == 0

    code, out, err = call(capsys, "score", folder / "model.reconad", folder / "in_test.csv", "--time-col", "t",
                          "--out", folder / "scores.csv", "--regions", folder / "regions.csv", "--quiet")
    assert code == 0, err
    scores = pd.read_csv(folder / "scores.csv")
    assert list(scores.columns) == ["t", "score", "label"] and len(scores) == 300
    assert scores["t"].tolist() == list(range(300)) and set(scores["label"]) <= {0, 1}
    regions = pd.read_csv(folder / "regions.csv")
    assert list(regions.columns) == ["start", "end", "length", "max_score", "start_time", "end_time", "top_features"]
    planted = regions[(regions["start"] < 180) & (regions["end"] > 150)]  # a and c were lifted by 3 at rows 150-179
    assert len(planted) and planted["top_features"].iloc[0].split(" (")[0] in {"a", "c"}
    flagged = np.zeros(300, dtype=int)
    for start, end in zip(regions["start"], regions["end"]):
        flagged[start:end] = 1
    assert (flagged == scores["label"].to_numpy()).all()  # regions are exactly the runs of label 1
    assert f"{len(regions)} region(s)" in out

    code, out, err = call(capsys, "evaluate", folder / "model.reconad", folder / "in_test.csv", "--time-col", "t",
                          "--labels", "y", "--report", folder / "report.html", "--json", folder / "metrics.json",
                          "--quiet")
    assert code == 0, err
    assert "label-free" in out and "oracle" in out
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["threshold_free"]["roc_auc"] > 0.8  # a +3 offset on two features is easy
    assert metrics["oracle"]["f1"] >= metrics["label_free"]["f1"] - 1e-12
    assert metrics["fingerprint"].startswith("sha256:")
    html = (folder / "report.html").read_text()
    assert "Model card" in html and metrics["fingerprint"] in html
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("label", [0, 1])
def test_evaluate_says_what_labels_of_one_class_measure(fitted, capsys, tmp_path, label):
    frame = synthetic_frame(300, seed=2).assign(y=label)  # a normal-only recording, or one labelled all anomalous
    frame.loc[100:119, "a"] += 5.0  # a few rows the threshold flags
    frame.to_csv(tmp_path / "one_class.csv", index=False)
    det = reconad.load(fitted / "model.reconad")
    flagged = int(det.predict(frame[["a", "b", "c"]]).sum())
    assert 0 < flagged < 300
    code, out, err = call(capsys, "evaluate", fitted / "model.reconad", tmp_path / "one_class.csv", "--time-col",
                          "t", "--labels", "y", "--quiet", "--json", tmp_path / "m.json",
                          "--report", tmp_path / "r.html")
    assert code == 0, err
    note = json.loads((tmp_path / "m.json").read_text())["note"]
    assert note in out and html.escape(note) in (tmp_path / "r.html").read_text()  # the same line in all three
    if label == 0:
        assert "The labels mark no anomaly" in out and f"flags {flagged:,} of the 300 normal rows" in out
        assert f"a false-alarm rate of {flagged / 300:.1%}" in out
    else:
        assert "The labels mark every row anomalous" in out and f"a recall of {flagged / 300:.1%}" in out


def test_score_explain_adds_each_feature_contribution(fitted, capsys):
    code, _, err = call(capsys, "score", fitted / "model.reconad", fitted / "in_test.csv", "--time-col", "t",
                        "--label-col", "y", "--out", fitted / "explained.csv", "--explain", "--quiet")
    assert code == 0, err
    scores = pd.read_csv(fitted / "explained.csv")
    parts = ["contribution:a", "contribution:b", "contribution:c"]
    assert list(scores.columns) == ["t", "score", "label", *parts]
    contributions = scores[parts].to_numpy()
    assert (contributions >= 0).all() and (contributions.max(axis=1) <= scores["score"] + 1e-6).all()
    lifted = contributions[150:180].mean(axis=0)  # a and c carry the planted offset, b does not
    assert lifted[1] < min(lifted[0], lifted[2])
    det = reconad.load(fitted / "model.reconad")
    frame = pd.read_csv(fitted / "in_test.csv")[["a", "b", "c"]]
    np.testing.assert_allclose(contributions, det.explain(frame), rtol=1e-6)


def test_score_to_parquet(fitted, capsys):
    pytest.importorskip("pyarrow")
    code, _, err = call(capsys, "score", fitted / "model.reconad", fitted / "in_test.csv",
                        "--out", fitted / "scores.parquet", "--quiet")
    assert code == 0, err
    scores = pd.read_parquet(fitted / "scores.parquet")
    assert list(scores.columns) == ["score", "label"] and len(scores) == 300


def test_nan_interpolate_and_rows(fitted, capsys, tmp_path):
    frame = synthetic_frame(200)
    frame.loc[5, "b"] = np.nan
    frame.to_csv(tmp_path / "in_gappy.csv", index=False)
    code, _, err = call(capsys, "fit", tmp_path / "in_gappy.csv", "--out", tmp_path / "m.reconad", "--nan",
                        "interpolate", "--columns", "a,b", "--rows", "10:150", "--model", "dense", *FAST)
    assert code == 0, err
    assert reconad.load(tmp_path / "m.reconad").feature_names_in_ == ["a", "b"]


def test_fit_options_reach_the_saved_detector(capsys, tmp_path):
    synthetic_frame(200).to_csv(tmp_path / "in.csv", index=False)
    code, _, err = call(capsys, "fit", tmp_path / "in.csv", "--out", tmp_path / "m.reconad", "--columns", "a,b",
                        "--score-stride", "2", "--calibration-split", "0.3", "--scaler", "none", *FAST)
    assert code == 0, err
    det = reconad.load(tmp_path / "m.reconad")
    assert (det.score_stride, det.calibration_split, det.scaler, det.stride) == (2, 0.3, None, 8)
    code, _, err = call(capsys, "fit", tmp_path / "in.csv", "--out", tmp_path / "bad.reconad", *FAST, "--window", "-2")
    assert_bad_input(code, err)
    assert "window" in err and not (tmp_path / "bad.reconad").exists()


@pytest.mark.parametrize("removed", ["--spread", "--context", "--smooth", "--min-scale", "--fold", "--precision",
                                     "--checkpoint"])
def test_options_of_removed_parameters_are_unknown(capsys, removed):
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "in.csv", "--out", "m.reconad", removed, "3"])
    assert exit_.value.code == 2 and f"unrecognized arguments: {removed}" in capsys.readouterr().err


def test_the_removed_whole_recording_preset_is_not_offered(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    text = capsys.readouterr().out
    assert "sine-notebook" in text and "whole-recording" not in text


@pytest.mark.parametrize("given, expected", [("b", ["b"]), ("a,b", ["a", "b"]), ("none", None), ("auto", "auto")])
def test_fit_drift_option_reaches_the_saved_detector(capsys, tmp_path, given, expected):
    synthetic_frame(200).to_csv(tmp_path / "in.csv", index=False)
    code, out, err = call(capsys, "fit", tmp_path / "in.csv", "--out", tmp_path / "m.reconad", "--columns", "a,b",
                          "--drift", given, *FAST)
    assert code == 0, err
    det = reconad.load(tmp_path / "m.reconad")
    assert det.drift == expected
    if isinstance(expected, list):
        assert det.drifting_features_ == expected
        assert f"seen centred on each window's mean: {', '.join(expected)}" in out


def test_fit_drift_naming_an_unknown_column_exits_2(capsys, tmp_path):
    synthetic_frame(200).to_csv(tmp_path / "in.csv", index=False)
    code, _, err = call(capsys, "fit", tmp_path / "in.csv", "--out", tmp_path / "m.reconad", "--columns", "a,b",
                        "--drift", "pressure", *FAST)
    assert code == 2 and "drift names feature 'pressure'" in err and not (tmp_path / "m.reconad").exists()


@pytest.mark.parametrize("case", ["missing file", "non-numeric column", "nan", "empty file", "header only",
                                  "unwritable output", "output is a folder", "bad rows", "series option on images",
                                  "image option on a table", "labels on a table", "too short for a window"])
def test_fit_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, case):
    data = tmp_path / "in.csv"
    out = tmp_path / "model.reconad"
    frame = synthetic_frame(100)
    extra = []
    if case == "missing file":
        data = tmp_path / "in_missing.csv"
    elif case == "non-numeric column":
        frame["site"] = "pump-7"
    elif case == "nan":
        frame.loc[3, "a"] = np.nan
    elif case == "unwritable output":
        (tmp_path / "in_blocker").write_text("a file, not a folder")
        out = tmp_path / "in_blocker" / "model.reconad"
    elif case == "output is a folder":
        out = tmp_path / "in_folder"
        out.mkdir()
    elif case == "bad rows":
        extra = ["--rows", "ten:20"]
    elif case == "series option on images":
        data = tmp_path / "in_images"
        data.mkdir()
        extra = ["--stride", "4"]
    elif case == "image option on a table":
        extra = ["--normal", "1"]
    elif case == "labels on a table":
        extra = ["--labels", "y"]  # the images' option, where a table's is --label-col
    elif case == "too short for a window":
        extra = ["--rows", ":50"]  # 50 rows leave a calibration tail of 10, below the smallest adapted window
    if case == "empty file":
        data.write_text("")
    elif case == "header only":
        data.write_text("t,a,b\n")
    elif data.suffix == ".csv" and case != "missing file":
        frame.to_csv(data, index=False)
    table_options = [] if case == "series option on images" else ["--time-col", "t", "--label-col", "y"]
    code, _, err = call(capsys, "fit", data, "--out", out, *table_options, *FAST, *extra)
    assert_bad_input(code, err)
    assert leftovers(tmp_path) == [], leftovers(tmp_path)
    if case == "non-numeric column":
        assert "['site']" in err
    if case == "nan":
        assert "NaN" in err and "'a'" in err
    if case == "labels on a table":
        assert "--labels applies to images only" in err and "--label-col y" in err


@pytest.mark.parametrize("case", ["wrong features", "wrong suffix", "no model", "not a model", "missing labels",
                                  "unknown label column", "unwritable report", "explain on dask"])
def test_score_and_evaluate_bad_input_exit_2(fitted, tmp_path, capsys, case):
    model, data = fitted / "model.reconad", fitted / "in_test.csv"
    command, out = ["score"], ["--out", tmp_path / "scores.csv"]
    if case == "wrong features":
        synthetic_frame(100).drop(columns=["c"]).to_csv(tmp_path / "in_two.csv", index=False)
        data = tmp_path / "in_two.csv"
    elif case == "wrong suffix":
        out = ["--out", tmp_path / "scores.xlsx"]
    elif case == "no model":
        model = tmp_path / "in_nothing.reconad"
    elif case == "not a model":
        model = data
    elif case == "missing labels":
        command, out = ["evaluate"], ["--report", tmp_path / "report.html"]
    elif case == "unknown label column":
        command, out = ["evaluate"], ["--labels", "nope", "--report", tmp_path / "report.html"]
    elif case == "unwritable report":
        command, out = ["evaluate"], ["--labels", "y", "--report", tmp_path / "in_no_such_folder" / "r.html"]
    elif case == "explain on dask":
        out = ["--out", tmp_path / "scores", "--engine", "dask", "--explain"]
    code, _, err = call(capsys, *command, model, data, *out, "--quiet")
    assert_bad_input(code, err)
    assert leftovers(tmp_path) == []
    if case == "wrong features":
        assert "['c']" in err
    if case == "explain on dask":
        assert "--explain cannot be used with --engine dask" in err


def test_bad_input_through_the_entry_point_has_no_traceback(tmp_path):
    (tmp_path / "in.csv").write_text("a,b\n1,x\n")
    out = run_cli("fit", str(tmp_path / "in.csv"), "--out", str(tmp_path / "m.reconad"))
    assert_bad_input(out.returncode, out.stderr)
    assert out.stderr.startswith("reconad fit: error:") and "['b']" in out.stderr


# ---- files: SKAB ----------------------------------------------------------------------------------------------


def test_fit_score_evaluate_on_skab(tmp_path, capsys):
    from conftest import require_dataset

    skab = require_dataset("skab")
    train, test = skab / "valve1" / "0.csv", skab / "valve1" / "1.csv"
    common = ["--time-col", "datetime"]
    code, out, err = call(capsys, "fit", train, "--out", tmp_path / "pump.reconad", *common, "--label-col",
                          "anomaly", "--drop", "changepoint", "--rows", ":400", "--model", "conv1d", *FAST)
    assert code == 0, err
    assert "400 rows × 8 features" in out
    code, out, err = call(capsys, "score", tmp_path / "pump.reconad", test, *common, "--out",
                          tmp_path / "scores.csv", "--regions", tmp_path / "regions.csv", "--quiet")
    assert code == 0, err
    scores = pd.read_csv(tmp_path / "scores.csv")
    raw = pd.read_csv(test, sep=";")
    assert len(scores) == len(raw) and (scores["datetime"] == raw["datetime"]).all()
    code, out, err = call(capsys, "evaluate", tmp_path / "pump.reconad", test, *common, "--labels", "anomaly",
                          "--report", tmp_path / "report.html", "--quiet")
    assert code == 0, err
    html = (tmp_path / "report.html").read_text()
    assert "Accelerometer1RMS" in html and "label-free" in html and "oracle" in html


# ---- images -------------------------------------------------------------------------------------------------------


def write_idx(path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def digit_images(seed: int = 0):
    from reconad.data import load_digits_images

    images, labels = load_digits_images()
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(images))[:120]
    return (images[pick, 0] * 255).round().astype(np.uint8), labels[pick]  # (N, 8, 8) uint8


def test_images_from_idx_and_png_folder(tmp_path, capsys):
    from PIL import Image

    pixels, digits = digit_images()
    write_idx(tmp_path / "in-images-idx3-ubyte", pixels)
    write_idx(tmp_path / "in-labels-idx1-ubyte", digits)
    image_fast = ["--epochs", "2", "--latent-dim", "4", "--random-state", "0", "--quiet"]
    code, out, err = call(capsys, "fit", tmp_path / "in-images-idx3-ubyte", "--out", tmp_path / "digits.reconad",
                          "--labels", tmp_path / "in-labels-idx1-ubyte", "--normal", "0,1", *image_fast)
    assert code == 0, err
    assert "ImageDetector" in out and f"{int(np.isin(digits, [0, 1]).sum())} images" in out
    code, _, err = call(capsys, "fit", tmp_path / "in-images-idx3-ubyte", "--out", tmp_path / "all.reconad",
                        "--normal", "0,1", *image_fast)  # without --labels, --normal would select nothing
    assert_bad_input(code, err)
    assert "pass the labels file too" in err and not (tmp_path / "all.reconad").exists()
    code, out, err = call(capsys, "evaluate", tmp_path / "digits.reconad", tmp_path / "in-images-idx3-ubyte",
                          "--labels", tmp_path / "in-labels-idx1-ubyte", "--normal", "0,1",
                          "--report", tmp_path / "report.html", "--quiet")
    assert code == 0, err
    html = (tmp_path / "report.html").read_text()
    for alt in ("ROC curve", "score histograms", "inputs, reconstructions and error maps"):
        assert f'alt="{alt}"' in html

    folder = tmp_path / "in_png"
    folder.mkdir()
    for i, picture in enumerate(pixels[:12]):
        Image.fromarray(picture).save(folder / f"{i:03d}.png")
    code, _, err = call(capsys, "score", tmp_path / "digits.reconad", folder, "--out", tmp_path / "scores.csv",
                        "--quiet")
    assert code == 0, err
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert scores["image"].tolist() == [f"{i:03d}.png" for i in range(12)]
    det = reconad.load(tmp_path / "digits.reconad")
    np.testing.assert_allclose(scores["score"], det.anomaly_score(pixels[:12] / 255.0), rtol=1e-5)
    code, _, err = call(capsys, "score", tmp_path / "digits.reconad", folder, "--out", tmp_path / "x.csv",
                        "--explain", "--quiet")
    assert_bad_input(code, err)
    assert "error_map" in err and not (tmp_path / "x.csv").exists()

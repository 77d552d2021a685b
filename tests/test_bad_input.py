"""Bad input, every public entry point: one InputError (or a subclass) whose message says what to do.

A table of rows ``(entry point, bad input, expected message)`` runs against the detectors (fit, anomaly_score,
predict, reconstruct, error_map, save), ``reconad.load``, the metric functions and the thresholds' ``fit``.
Each expected message holds the *fix*, not only the problem. Hypothesis then throws random shapes, dtypes,
NaN / inf and tiny lengths at the array entry points: nothing but InputError / NotFittedError may come out.
The command line gets the same table: exit code 2, one line on stderr, no traceback, no output file left.
"""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reconad
from reconad import InputError, NotFittedError, SeriesDetector
from reconad import metrics as M
from reconad.data import make_sine
from reconad.thresholds import THRESHOLDS, make_threshold

FAST = dict(window=20, stride=5, epochs=1, hidden_size=8, batch_size=16, verbose=False, random_state=0)
HAS_IMAGES = hasattr(reconad, "ImageDetector")

# ---- the bad values, each with the words of the fix its message must carry ---------------------------------

NAN = np.array([1.0, np.nan] * 300)
INF = np.array([1.0, -np.inf] * 300)
EMPTY = np.array([])
SHORT = np.ones(5)
WIDE = np.ones((300, 3))
STRINGS = np.array(["a", "b"] * 300)
TEXT_COLUMN = pd.DataFrame({"x": np.ones(600), "name": ["a"] * 600})
CUBE = np.ones((30, 20, 2))
NONES = [None] * 300
RAGGED = [[1.0, 2.0], [3.0]] * 150
COMPLEX = np.full(600, 1 + 2j)  # numpy would cast it to real, dropping the imaginary part
COMPLEX_COLUMN = pd.DataFrame({"x": np.ones(600), "z": np.full(600, 1 + 0j)})

FIX_NAN = "drop or interpolate"
FIX_EMPTY = "pass at least one window"
FIX_TEXT = "select the numeric sensor columns"
FIX_NUMERIC = "must be numeric"
FIX_SHAPE = r"for images use ImageDetector"
FIX_COMPLEX = r"complex numbers; pass real values .*np\.abs\(x\)"

SERIES_BAD = {  # shared by anomaly_score / predict / reconstruct of a detector fitted on one feature
    "nan": (NAN, FIX_NAN),
    "inf": (INF, FIX_NAN),
    "empty": (EMPTY, FIX_EMPTY),
    "too short for a window": (SHORT, "pass a longer series"),
    "wrong feature count": (WIDE, "pass the same columns as at fit time"),
    "non-numeric column": (TEXT_COLUMN, FIX_TEXT),
    "strings": (STRINGS, FIX_NUMERIC),
    "3-D array": (CUBE, FIX_SHAPE),
    "None values": (NONES, FIX_NAN),
    "ragged rows": (RAGGED, FIX_NUMERIC),
    "complex": (COMPLEX, FIX_COMPLEX),
    "complex column": (COMPLEX_COLUMN, r"columns \['z'\] holds complex numbers"),
}
FIT_BAD = {
    **{k: v for k, v in SERIES_BAD.items() if k not in ("too short for a window", "wrong feature count")},
    "too short to train": (np.ones(50), "pass more data, a smaller window, or calibration_split=0"),
}


@pytest.fixture(scope="module")
def sine():
    return make_sine(3, "independent")


@pytest.fixture(scope="module")
def fitted(sine):
    return SeriesDetector(model="dense", **FAST).fit(sine.train)


@pytest.fixture(scope="module")
def image_detector():
    if not HAS_IMAGES:
        pytest.skip("reconad.ImageDetector is not in this version")
    from reconad.data.images import load_digits_images

    images, _ = load_digits_images()
    return reconad.ImageDetector(model="mlp", epochs=1, random_state=0, verbose=False).fit(images[:200])


# ---- the table -----------------------------------------------------------------------------------------------


def _series_rows():
    for name, (bad, fix) in FIT_BAD.items():
        yield f"fit[{name}]", lambda ctx, bad=bad: SeriesDetector(**FAST).fit(bad), fix
    for method in ("anomaly_score", "predict", "reconstruct"):
        for name, (bad, fix) in SERIES_BAD.items():
            yield f"{method}[{name}]", lambda ctx, bad=bad, m=method: getattr(ctx["det"], m)(bad), fix
    labels_short = np.zeros(10)
    yield ("fit[validation label length mismatch]",
           lambda ctx: SeriesDetector(**FAST).fit(ctx["sine"].train, validation=(ctx["sine"].test, labels_short)),
           "one value per step")
    yield ("fit[validation labels not 0/1]",
           lambda ctx: SeriesDetector(**FAST).fit(ctx["sine"].train,
                                                  validation=(ctx["sine"].test, np.full(1000, 2))),
           "only 0 .normal. and 1 .anomaly.")
    yield ("fit[validation wrong feature count]",
           lambda ctx: SeriesDetector(**FAST).fit(ctx["sine"].train, validation=(WIDE, np.zeros(300))),
           "features")
    huge = np.full(600, 1e39)  # finite in float64, inf in float32
    yield "fit[beyond float32]", lambda ctx: SeriesDetector(**FAST).fit(huge), "float32|too large"
    yield "anomaly_score[beyond float32]", lambda ctx: ctx["det"].anomaly_score(huge), "float32|too large"
    yield ("fit[bad parameter]", lambda ctx: SeriesDetector(**{**FAST, "window": -3}).fit(ctx["sine"].train),
           "window must be an integer >= 2")
    yield ("save[missing folder]", lambda ctx: ctx["det"].save(ctx["tmp"] / "no" / "det.reconad"),
           "create it first")
    yield ("save[path is a folder]", lambda ctx: ctx["det"].save(ctx["tmp"]), "choose a file name")
    yield ("save[folder is a file]", lambda ctx: ctx["det"].save(ctx["file"] / "det.reconad"), "create it first")
    yield ("load[missing file]", lambda ctx: reconad.load(ctx["tmp"] / "missing.reconad"), "check the path")
    yield ("load[a folder]", lambda ctx: reconad.load(ctx["tmp"]), "not a model file")
    yield ("load[empty file]", lambda ctx: reconad.load(ctx["empty"]), r"save a detector with det.save\(path\)")
    yield ("load[a CSV file]", lambda ctx: reconad.load(ctx["file"]), "foreign or truncated")


SCORE_METRICS = {
    "roc_auc": M.roc_auc,
    "auprc": M.auprc,
    "oracle_best_f1": M.oracle_best_f1,
    "oracle_best_f1_grid": M.oracle_best_f1_grid,
    "range_auc_pr": lambda y, s: M.range_auc_pr(y, s, buffer=2),
    "vus_pr": M.vus_pr,
}
PRED_METRICS = {
    "point_f1": M.point_f1,
    "point_prf": M.point_prf,
    "event_f1": M.event_f1,
    "event_prf": M.event_prf,
    "point_adjust": M.point_adjust,
    "point_adjusted_f1": M.point_adjusted_f1,
    "detection_delays": M.detection_delays,
}
# the confusion counts (reconad.metrics.counts) take the same arrays and check them the same way
COUNT_SCORE_METRICS = {
    "oracle_confusion_at_far": M.oracle_confusion_at_far,
    "oracle_confusion_pooled_far": lambda y, s: M.oracle_confusion_pooled_far([y], [s]),
}
COUNT_PRED_METRICS = {"confusion": M.confusion}
# public metric functions without a row: they take count dicts, evaluations or labels already checked by the
# metrics they call (series_evaluation / image_evaluation check through auprc, roc_auc and point_prf)
NOT_ARRAY_ENTRY_POINTS = {"regions_to_labels", "rates", "pooled_counts", "metrics_text", "one_class_note",
                          "series_evaluation", "image_evaluation"}
Y = np.array([0, 0, 1, 1, 0, 0, 1, 0] * 10)
S = np.linspace(0, 1, 80)


def _metric_rows():
    scored = {**SCORE_METRICS, **COUNT_SCORE_METRICS}
    for name, fn in {**scored, **PRED_METRICS, **COUNT_PRED_METRICS}.items():
        other = S if name in scored else Y
        yield f"{name}[label length mismatch]", lambda ctx, fn=fn, o=other: fn(Y[:-3], o), "pass one per step"
        yield f"{name}[labels not 0/1]", lambda ctx, fn=fn, o=other: fn(Y * 2, o), r"0 \(normal\) or 1"
        yield f"{name}[2-D labels]", lambda ctx, fn=fn, o=other: fn(np.ones((80, 2)), o), "pass one per step"
        yield f"{name}[strings]", lambda ctx, fn=fn: fn(Y, np.array(["x"] * 80)), "numbers"
        yield f"{name}[empty]", lambda ctx, fn=fn: fn(np.array([]), np.array([])), "empty"
        yield f"{name}[complex]", lambda ctx, fn=fn, o=other: fn(Y, o + 1j), FIX_COMPLEX
    for name, fn in scored.items():
        nan = S.copy()
        nan[3] = np.nan
        yield f"{name}[NaN score]", lambda ctx, fn=fn, s=nan: fn(Y, s), "NaN or infinite"
    for name, fn in {**PRED_METRICS, **COUNT_PRED_METRICS}.items():
        yield f"{name}[predictions not 0/1]", lambda ctx, fn=fn: fn(Y, S), "threshold the scores first"
    yield "range_auc_pr[negative buffer]", lambda ctx: M.range_auc_pr(Y, S, buffer=-1), "whole number of steps"
    yield "regions[2-D labels]", lambda ctx: M.regions(np.ones((3, 3))), "one-dimensional"


def _pixel_rows():
    masks = np.zeros((2, 4, 4))
    masks[0, 1:3, 1:3] = 1
    maps = np.linspace(0, 1, 32).reshape(2, 4, 4)
    for name in ("pixel_roc_auc", "pro_auc", "pro_curve"):
        fn = getattr(M, name)
        yield f"{name}[shape mismatch]", lambda ctx, fn=fn: fn(masks, maps[:, :3]), "pass one map value per mask"
        yield f"{name}[masks not 0/1]", lambda ctx, fn=fn: fn(masks * 2, maps), r"0 \(defect-free pixel\)"
        yield f"{name}[4-D masks]", lambda ctx, fn=fn: fn(masks[None], maps[None]), "one map per image"
        yield f"{name}[strings]", lambda ctx, fn=fn: fn(masks, np.full(masks.shape, "x")), "numeric arrays"
        yield f"{name}[empty]", lambda ctx, fn=fn: fn(np.zeros((0, 4, 4)), np.zeros((0, 4, 4))), "at least one pixel"
        yield f"{name}[complex]", lambda ctx, fn=fn: fn(masks, maps + 1j), FIX_COMPLEX
        nan = maps.copy()
        nan[1, 2, 2] = np.nan
        yield f"{name}[NaN map]", lambda ctx, fn=fn, m=nan: fn(masks, m), "NaN or infinite"
    yield "pro_auc[no defect]", lambda ctx: M.pro_auc(masks * 0, maps), "at least one defective"


def _threshold_rows():
    for name in THRESHOLDS:
        yield f"{name}.fit[NaN]", lambda ctx, n=name: make_threshold(n).fit([1.0, np.nan]), "finite scores"
        yield f"{name}.fit[inf]", lambda ctx, n=name: make_threshold(n).fit([1.0, np.inf]), "finite scores"
        yield f"{name}.fit[empty]", lambda ctx, n=name: make_threshold(n).fit([]), "pass scores of some normal data"
        yield f"{name}.fit[strings]", lambda ctx, n=name: make_threshold(n).fit(["a", "b"]), "numbers"
        yield f"{name}.fit[complex]", lambda ctx, n=name: make_threshold(n).fit([1.0, 2j]), FIX_COMPLEX
        yield f"{name}.fit[huge]", lambda ctx, n=name: make_threshold(n).fit([1e200, 0.0]), "rescale them"
        yield (f"{name}.predict[unfitted]", lambda ctx, n=name: make_threshold(n).predict([1.0]),
               r"call fit\(scores_of_normal_data\)")
    yield "make_threshold[unknown]", lambda ctx: make_threshold("magic"), "pass one of"


def _image_rows():
    if not HAS_IMAGES:
        return
    good_shape = np.full((4, 1, 8, 8), 0.5, dtype=np.float32)
    bad = {
        "wrong image shape": (np.full((4, 1, 10, 10), 0.5), "resize them to the training size"),
        "values above 1": (good_shape * 255, "scale them first"),
        "negative values": (good_shape - 1, "scale them first"),
        "nan": (np.where(np.arange(256).reshape(4, 1, 8, 8) == 5, np.nan, good_shape), "drop or repair"),
        "empty": (np.zeros((0, 1, 8, 8)), "pass at least one image"),
        "1-D array": (np.full(64, 0.5), r"for one image use image\[None\]"),
        "strings": (np.array([["a"] * 8] * 8)[None], "must be a numeric array"),
        "complex": (good_shape.astype(np.complex64), FIX_COMPLEX),
        "channels last": (np.full((4, 8, 8, 3), 0.5), r"pass x.transpose\(0, 3, 1, 2\)"),
    }
    for method in ("anomaly_score", "predict", "reconstruct", "error_map"):
        for name, (value, fix) in bad.items():
            yield f"image.{method}[{name}]", lambda ctx, v=value, m=method: getattr(ctx["img"], m)(v), fix
    for name in ("values above 1", "nan", "empty", "1-D array", "strings", "complex", "channels last"):
        value, fix = bad[name]
        yield (f"image.fit[{name}]",
               lambda ctx, v=value: reconad.ImageDetector(epochs=1, verbose=False).fit(v), fix)
    yield ("image.fit[validation label length mismatch]",
           lambda ctx: reconad.ImageDetector(epochs=1, verbose=False).fit(
               np.full((20, 1, 8, 8), 0.5), validation=(np.full((6, 1, 8, 8), 0.5), np.array([0, 1]))),
           "one value per image")
    yield ("image.save[missing folder]", lambda ctx: ctx["img"].save(ctx["tmp"] / "no" / "img.reconad"),
           "create it first")


ROWS = [*_series_rows(), *_metric_rows(), *_pixel_rows(), *_threshold_rows(), *_image_rows()]


def _param(name, call, fix):
    return pytest.param(call, fix, id=name)


@pytest.fixture()
def ctx(request, fitted, sine, tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    (tmp_path / "empty.reconad").write_bytes(b"")
    context = {"det": fitted, "sine": sine, "tmp": tmp_path, "file": tmp_path / "data.csv",
               "empty": tmp_path / "empty.reconad"}
    if request.node.callspec.id.startswith("image."):
        context["img"] = request.getfixturevalue("image_detector")
    return context


@pytest.mark.parametrize("call, fix", [_param(*row) for row in ROWS])
def test_bad_input_gets_one_input_error_naming_the_fix(call, fix, ctx):
    before = sorted(p.name for p in ctx["tmp"].iterdir())
    with pytest.raises(InputError, match=fix) as caught:
        call(ctx)
    message = str(caught.value)
    assert message and "Traceback" not in message
    assert sorted(p.name for p in ctx["tmp"].iterdir()) == before  # nothing half-written left behind


def test_the_table_covers_every_entry_point():
    names = {name.split("[")[0] for name, _, _ in ROWS}
    for method in ("fit", "anomaly_score", "predict", "reconstruct", "save", "load"):
        assert method in names
    assert set(SCORE_METRICS) | set(PRED_METRICS) <= names
    public = {n for n in M.__all__ if callable(getattr(M, n)) and n[0].islower()}
    assert public - names <= NOT_ARRAY_ENTRY_POINTS, public - names  # every metric function on arrays has a row
    assert NOT_ARRAY_ENTRY_POINTS <= public  # and the exemptions name real functions
    assert {f"{t}.fit" for t in THRESHOLDS} <= names


def test_unfitted_detectors_say_to_call_fit():
    for method in ("anomaly_score", "predict", "reconstruct"):
        with pytest.raises(NotFittedError, match=r"call fit\(X\)"):
            getattr(SeriesDetector(), method)(np.ones(300))
    with pytest.raises(NotFittedError, match="call fit"):
        SeriesDetector().save("never.reconad")
    assert not Path("never.reconad").exists()


# ---- fuzzing -------------------------------------------------------------------------------------------------

DTYPES = st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int8, np.uint8, np.bool_,
                          np.complex64, np.dtype("U3"), np.dtype("O")])


@st.composite
def arrays(draw, dtypes=DTYPES):
    dtype = draw(dtypes)
    ndim = draw(st.integers(0, 4))
    side = 80 if ndim <= 2 and np.dtype(dtype).kind not in "UO" else 6  # long enough for a window sometimes
    shape = draw(hnp.array_shapes(min_dims=ndim, max_dims=ndim, min_side=0, max_side=side)) if ndim else ()
    if np.dtype(dtype).kind in "UO":
        elements = st.one_of(st.text(max_size=3), st.none(), st.floats(allow_nan=True, allow_infinity=True))
        values = draw(st.lists(elements, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
        array = np.empty(int(np.prod(shape)), dtype=object)
        array[:] = values
        return array.reshape(shape).astype(dtype)
    return draw(hnp.arrays(dtype, shape))


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
ALLOWED = (InputError, NotFittedError)


@FUZZ
@given(x=arrays())
def test_fuzz_series_scoring(fitted, x):
    for method in ("anomaly_score", "predict", "reconstruct"):
        try:
            out = getattr(fitted, method)(x)
        except ALLOWED:
            continue
        assert len(out) == len(np.atleast_1d(x))  # huge values may overflow to inf scores: see test_serve


@FUZZ
@given(x=arrays(), window=st.integers(2, 6))
def test_fuzz_series_fit(x, window):
    det = SeriesDetector(model="dense", window=window, stride=1, epochs=1, hidden_size=2, batch_size=64,
                         verbose=False, random_state=0)
    try:
        det.fit(x)
    except ALLOWED:
        return
    assert np.isfinite(det.threshold_.value_)


NUMERIC = st.sampled_from([np.float64, np.float32, np.int64, np.int8, np.bool_, np.complex64])


@FUZZ
@given(y=arrays(NUMERIC), s=arrays(NUMERIC))
def test_fuzz_metrics_and_thresholds(y, s):
    for fn in [*SCORE_METRICS.values(), *PRED_METRICS.values(), M.regions]:
        try:
            fn(y, s) if fn is not M.regions else fn(y)
        except ALLOWED:
            pass
    for name in THRESHOLDS:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # an overflow inside a fit is a silent inf threshold
            try:
                make_threshold(name).fit(s)
            except ALLOWED:
                pass


@pytest.mark.skipif(not HAS_IMAGES, reason="reconad.ImageDetector is not in this version")
@FUZZ
@given(x=arrays())
def test_fuzz_image_scoring(image_detector, x):
    for method in ("anomaly_score", "reconstruct"):
        try:
            getattr(image_detector, method)(x)
        except ALLOWED:
            pass


# ---- the command line ----------------------------------------------------------------------------------------


def _cli_ready() -> bool:
    from reconad.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    return {"fit", "score", "evaluate"} <= set(commands)


def reconad_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "reconad", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory, sine, fitted):
    folder = tmp_path_factory.mktemp("cli")
    pd.DataFrame({"value": sine.train}).to_csv(folder / "train.csv", index=False)
    pd.DataFrame({"value": sine.test, "label": sine.test_labels}).to_csv(folder / "test.csv", index=False)
    nan = sine.test.copy()
    nan[10] = np.nan
    pd.DataFrame({"value": nan}).to_csv(folder / "nan.csv", index=False)
    pd.DataFrame({"value": sine.test[:5]}).to_csv(folder / "short.csv", index=False)
    pd.DataFrame({"value": ["a"] * 300}).to_csv(folder / "text.csv", index=False)
    pd.DataFrame({"a": sine.test, "b": sine.test}).to_csv(folder / "wide.csv", index=False)
    (folder / "empty.csv").write_text("")
    (folder / "junk.reconad").write_bytes(b"\x80\x04junk")
    fitted.save(folder / "model.reconad")
    return folder


CLI_ROWS = {
    "fit missing file": ["fit", "missing.csv", "--out", "OUT.reconad"],
    "fit empty file": ["fit", "empty.csv", "--out", "OUT.reconad"],
    "fit NaN": ["fit", "nan.csv", "--out", "OUT.reconad", "--epochs", "1", "--window", "20"],
    "fit non-numeric column": ["fit", "text.csv", "--out", "OUT.reconad", "--epochs", "1"],
    "fit too short": ["fit", "short.csv", "--out", "OUT.reconad", "--epochs", "1", "--window", "20"],
    "fit unwritable output": ["fit", "train.csv", "--out", "no/such/folder/OUT.reconad", "--epochs", "1"],
    "score missing model": ["score", "missing.reconad", "test.csv", "--out", "OUT.csv"],
    "score corrupted model": ["score", "junk.reconad", "test.csv", "--out", "OUT.csv"],
    "score NaN": ["score", "model.reconad", "nan.csv", "--out", "OUT.csv"],
    "score too short": ["score", "model.reconad", "short.csv", "--out", "OUT.csv"],
    "score wrong feature count": ["score", "model.reconad", "wide.csv", "--out", "OUT.csv"],
    "score unwritable output": ["score", "model.reconad", "test.csv", "--out", "no/such/OUT.csv"],
    "evaluate missing label column": ["evaluate", "model.reconad", "test.csv", "--labels", "nope",
                                      "--json", "OUT.json"],
    "serve missing model": ["serve", "missing.reconad", "--port", "0"],
    "serve corrupted model": ["serve", "junk.reconad", "--port", "0"],
}


def _outputs(args, tmp_path):
    return [a.replace("OUT", str(tmp_path / "out")) if "OUT" in a else a for a in args]


@pytest.mark.parametrize("args", list(CLI_ROWS.values()), ids=list(CLI_ROWS))
def test_cli_bad_input_exits_2_with_one_line(args, cli_files, tmp_path, monkeypatch, capsys):
    if not _cli_ready():
        pytest.skip("reconad fit/score/evaluate are not in this version of the CLI")
    from reconad.cli import main

    monkeypatch.chdir(cli_files)
    before = set(os.listdir(cli_files))
    code = main(_outputs(args, tmp_path))
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"reconad {args[0]}: error:")
    assert list(tmp_path.iterdir()) == []  # no output file, no temporary file
    assert set(os.listdir(cli_files)) == before


@pytest.mark.parametrize("row", ["fit missing file", "score corrupted model", "score NaN", "serve missing model"])
def test_cli_bad_input_in_a_real_process(row, cli_files, tmp_path):
    """The same through ``python -m reconad``: warnings or logging would show here as extra stderr lines."""
    if not _cli_ready():
        pytest.skip("reconad fit/score/evaluate are not in this version of the CLI")
    done = reconad_cli(*_outputs(CLI_ROWS[row], tmp_path), cwd=cli_files)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == []

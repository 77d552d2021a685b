"""Hostile *numbers* inside otherwise valid model files (issue 36): each is refused with reconad's own error before
anything is allocated or looped over, or the file scores with finite values.

The sweep sets every whole number of a saved model's JSON document (params and state, walked recursively) to 10**9
and every float to 0.0, -1.0 and 1e308, one at a time, and loads and scores 1,000 rows (or images) with each file
in a subprocess capped at 4 GiB of address space. The counts it finds are printed (``pytest -s``) and checked.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import join_model_file, split_model_file

import reconad
from reconad import ImageDetector, InputError, ModelFileError, SeriesDetector

HERE = Path(__file__).resolve().parent
FAST = dict(window=20, stride=5, epochs=1, hidden_size=8, batch_size=16, verbose=False, random_state=0)
CAP = 4 * 1024**3  # address space per sweep subprocess
CASE_SECONDS = 60.0


def _edited(good: bytes, change) -> bytes:
    header, body = split_model_file(good)
    document = json.loads(header["__metadata__"]["reconad"])
    change(document)
    header["__metadata__"]["reconad"] = json.dumps(document)
    return join_model_file(header, body)


def _put(document, path, value):
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def number_fields(value, path=()):
    """``(path, kind)`` of every int and float inside ``value`` (bools are not numbers here)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from number_fields(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from number_fields(item, (*path, index))
    elif type(value) is int:
        yield path, "int"
    elif type(value) is float:
        yield path, "float"


def sweep_cases(good: bytes) -> list[tuple[list, object]]:
    header, _ = split_model_file(good)
    document = json.loads(header["__metadata__"]["reconad"])
    cases = []
    for part in ("params", "state"):
        for path, kind in number_fields(document[part], (part,)):
            for value in ([10**9] if kind == "int" else [0.0, -1.0, 1e308]):
                cases.append((list(path), value))
    return cases


def _sweep_main(good_path: str, data_path: str, cases_path: str, out_path: str) -> None:
    """In the capped subprocess: load and score every case; write ``[(path, value, outcome, seconds)]``."""
    good, data = Path(good_path).read_bytes(), np.load(data_path)
    results = []
    folder = Path(out_path).parent
    for path, value in json.loads(Path(cases_path).read_text()):
        file = folder / "case.reconad"
        file.write_bytes(_edited(good, lambda d, p=path, v=value: _put(d, p, v)))
        began = time.perf_counter()
        try:
            scores = reconad.load(file).anomaly_score(data)
            outcome = "finite" if len(scores) == len(data) and np.isfinite(scores).all() else "NOT FINITE"
        except InputError as exc:  # ModelFileError is an InputError
            outcome = f"refused: {type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001 - anything else is the finding this test looks for
            outcome = f"CRASH: {type(exc).__name__}: {exc}"
        results.append((path, value, outcome, time.perf_counter() - began))
        Path(out_path).write_text(json.dumps(results))


def _run_sweep(good: bytes, data: np.ndarray, tmp_path: Path) -> list:
    cases = sweep_cases(good)
    (tmp_path / "good.reconad").write_bytes(good)
    np.save(tmp_path / "data.npy", data)
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    out = tmp_path / "results.json"
    code = (f"import resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({CAP}, {CAP})); "
            f"sys.path.insert(0, {str(HERE)!r}); from test_hostile_values import _sweep_main; "
            f"_sweep_main(*sys.argv[1:])")
    args = [str(tmp_path / n) for n in ("good.reconad", "data.npy", "cases.json", "results.json")]
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=CASE_SECONDS + 10 * len(cases), env={**os.environ, "OMP_NUM_THREADS": "1"})
    results = json.loads(out.read_text()) if out.exists() else []
    assert done.returncode == 0 and len(results) == len(cases), (
        f"the sweep subprocess stopped after {len(results)} of {len(cases)} cases (exit {done.returncode}); "
        f"next case {cases[len(results)] if len(results) < len(cases) else None}: {done.stderr[-2000:]}")
    return results


def _check_sweep(results: list, name: str) -> None:
    bad = [r for r in results if not (r[2] == "finite" or r[2].startswith("refused"))]
    slow = [r for r in results if r[3] > CASE_SECONDS]
    refused = sum(r[2].startswith("refused") for r in results)
    print(f"\n{name}: {len(results)} cases, {refused} refused, {len(results) - refused} scored finite; slowest "
          f"{max(r[3] for r in results):.2f} s")
    assert not bad, "\n".join(map(str, bad))
    assert not slow, "\n".join(map(str, slow))
    assert "\n" not in "".join(r[2] for r in results), "every refusal is one line"


@pytest.fixture(scope="module")
def series_bytes(tmp_path_factory) -> bytes:
    t = np.arange(600)
    det = SeriesDetector(model="dense", **FAST).fit(np.column_stack([np.sin(t / 10), np.cos(t / 7)]))
    path = tmp_path_factory.mktemp("series") / "good.reconad"
    det.save(path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def image_bytes(tmp_path_factory) -> bytes:
    images = np.random.default_rng(0).random((60, 1, 8, 8), dtype=np.float32)
    det = ImageDetector(epochs=1, verbose=False, random_state=0).fit(images)
    path = tmp_path_factory.mktemp("image") / "good.reconad"
    det.save(path)
    return path.read_bytes()


def test_sweep_of_hostile_numbers_in_a_series_model(series_bytes, tmp_path):
    t = np.arange(1000)
    rows = np.column_stack([np.sin(t / 10), np.cos(t / 7)]).astype(np.float32)
    results = _run_sweep(series_bytes, rows, tmp_path)
    _check_sweep(results, "series detector")
    refused = {tuple(r[0]) for r in results if r[2].startswith("refused")}
    assert ("state", "smooth") in refused and ("state", "model_kwargs", "num_layers") in refused


def test_sweep_of_hostile_numbers_in_an_image_model(image_bytes, tmp_path):
    images = np.random.default_rng(1).random((1000, 1, 8, 8), dtype=np.float32)
    results = _run_sweep(image_bytes, images, tmp_path)
    _check_sweep(results, "image detector")
    refused = {tuple(r[0]) for r in results if r[2].startswith("refused")}
    assert ("state", "image_shape", 1) in refused


def _load_fails(data: bytes, tmp_path: Path, match: str):
    path = tmp_path / "hostile.reconad"
    path.write_bytes(data)
    with pytest.raises(ModelFileError, match=match) as caught:  # refused at load: nothing is looped over
        reconad.load(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("field, value", [("smooth", 10**9), ("smooth", 0), ("stride", 10**9)])
def test_a_huge_smoothing_is_refused_at_load_not_after_hours(series_bytes, tmp_path, field, value):
    _load_fails(_edited(series_bytes, lambda d: d["state"].update({field: value})), tmp_path, field)


def test_an_old_files_smooth_parameter_is_bounded_too(series_bytes, tmp_path):
    def old(document):
        document["state"].pop("smooth")
        document["params"]["smooth"] = 10**9  # migrate() moves it into the state

    _load_fails(_edited(series_bytes, old), tmp_path, "smoothing")


def test_removed_spread_and_context_parameters_cannot_hang_scoring(series_bytes, tmp_path):
    _load_fails(_edited(series_bytes, lambda d: d["params"].update(spread=10**9)), tmp_path, "spread")
    path = tmp_path / "context.reconad"
    path.write_bytes(_edited(series_bytes, lambda d: d["params"].update(context=10**9)))  # never changed a score
    assert np.isfinite(reconad.load(path).anomaly_score(np.zeros((1000, 2)))).all()


@pytest.mark.parametrize("scale", [0.0, -1.0, 1e308, "x"])
def test_scaler_scales_must_be_finite_and_positive(series_bytes, tmp_path, scale):
    _load_fails(_edited(series_bytes, lambda d: _put(d, ("state", "scaler", "scale", 0), scale)), tmp_path,
                "scaler scale")


def test_a_zero_scale_is_exit_2_from_reconad_score_not_empty_scores(series_bytes, tmp_path):
    model = tmp_path / "zero.reconad"
    model.write_bytes(_edited(series_bytes, lambda d: _put(d, ("state", "scaler", "scale", 0), 0.0)))
    data = tmp_path / "data.csv"
    data.write_text("a,b\n" + "\n".join(f"{np.sin(i / 10)},{np.cos(i / 7)}" for i in range(200)) + "\n")
    done = subprocess.run([sys.executable, "-m", "reconad", "score", str(model), str(data), "--out",
                           str(tmp_path / "scores.csv")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "scaler scale" in done.stderr
    assert not (tmp_path / "scores.csv").exists()


@pytest.mark.parametrize("shape", [[1, 6000, 6000], [1, 46341, 46341]])
def test_an_image_shape_bomb_is_refused_before_any_memory_is_used(image_bytes, tmp_path, shape):
    def bomb(document):
        document["state"]["image_shape"] = shape
        document["state"]["model_kwargs"].update(in_channels=shape[0], height=shape[1], width=shape[2])

    _load_fails(_edited(image_bytes, bomb), tmp_path, "image shape")
    _load_fails(_edited(image_bytes, lambda d: d["state"].update(image_shape=shape)), tmp_path, "image shape")


def test_a_2_gb_sparse_file_is_refused_without_reading_it(series_bytes, tmp_path):
    zeros = tmp_path / "zeros.reconad"
    with zeros.open("wb") as handle:
        handle.truncate(2 * 1024**3)  # sparse: no disk used, and a header length of 0
    padded = tmp_path / "padded.reconad"
    padded.write_bytes(series_bytes)
    with padded.open("r+b") as handle:
        handle.truncate(2 * 1024**3)  # a good header followed by 2 GB of nothing
    good = tmp_path / "good.reconad"
    good.write_bytes(series_bytes)
    code = ("import resource, sys, reconad\n"
            "reconad.load(sys.argv[1])  # torch and the rest imported: the baseline\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
            "for path in sys.argv[2:]:\n"
            "    try:\n        reconad.load(path)\n    except reconad.ModelFileError as exc:\n        print(exc)\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
    done = subprocess.run([sys.executable, "-c", code, str(good), str(zeros), str(padded)], capture_output=True,
                          text=True, timeout=120)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0, done.stderr[-2000:]
    assert "header" in lines[1] and "declares" in lines[2] and "the file holds 2,1" in lines[2], lines
    assert int(lines[3]) - int(lines[0]) < 512 * 1024  # peak RSS growth in KiB: far below the file's 2 GB


def test_a_90_mb_json_header_is_refused_before_parsing(series_bytes, tmp_path):
    header, body = split_model_file(series_bytes)
    header["__metadata__"]["padding"] = " " * (90 * 1024**2)
    _load_fails(join_model_file(header, body), tmp_path, "over the")

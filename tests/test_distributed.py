"""Scoring Parquet partitions on Dask gives exactly the scores of one process (``reconad.distributed``)."""

import os

import numpy as np
import pandas as pd
import pytest
from conftest import require_module

from reconad import InputError, SeriesDetector
from reconad.data import make_sine
from reconad.scoring import SeriesScorer

require_module("dask", "dask")
require_module("distributed", "dask")
from reconad.distributed import list_partitions, score_parquet  # noqa: E402

FAST = dict(window=20, stride=5, epochs=1, hidden_size=8, batch_size=16, verbose=False, random_state=0)
# uneven partitions: one empty, two shorter than a window, boundaries inside windows
SIZES = [1000, 7, 0, 1500, 13, 2483]


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0",
                      worker_dashboard_address="127.0.0.1:0") as local:
        with Client(local) as client:
            yield client


@pytest.fixture(scope="module")
def train():
    return make_sine(3, "independent").train


def _series(length: int, n_features: int = 1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(length)[:, None] / (7.0 + np.arange(n_features))
    x = np.sin(t) + 0.1 * rng.normal(size=(length, n_features))
    x[length // 3 : length // 3 + 40] += 2.0  # an anomaly, so that some labels are 1
    return x


def _write(folder, x, sizes, columns, row_group_size=256):
    folder.mkdir()
    start = 0
    for i, n in enumerate(sizes):
        frame = pd.DataFrame(x[start : start + n], columns=columns)
        frame["note"] = "text"  # a non-feature column that must be left out
        frame.to_parquet(folder / f"part.{i}.parquet", row_group_size=row_group_size)
        start += n
    assert start == len(x)
    return folder


def _refold(det, fold: str, smooth: int):
    """``det`` scoring with another fold and smoothing, as a model file of an earlier version can hold (they are
    fitted state now, saved with the detector), to cover the paths the family defaults do not reach."""
    s = det.scorer_
    det.scorer_ = SeriesScorer(s.model, window=s.window, stride=s.stride, n_features=s.n_features,
                               feature_names=s.feature_names, mean=s.mean, scale=s.scale_values, fold=fold,
                               smooth=smooth)
    return det


def _read(out):
    files = sorted(out.iterdir())
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True), files


@pytest.mark.parametrize(
    "params, refold",
    [
        (dict(model="gru", score_stride=3), None),  # overlap everywhere, no smoothing
        (dict(model="dense", score_stride=3), None),  # the family's 5-step smoothing reaches across partitions
        (dict(model="lstm"), ("max", 4)),  # even smoothing window, max fold (an older file's)
        (dict(model="conv1d", score_stride=7), None),  # the tail window is not on the stride grid
    ],
)
def test_two_workers_give_exactly_the_one_process_scores(params, refold, cluster, train, tmp_path):
    det = SeriesDetector(**{**FAST, **params}).fit(train)
    if refold:
        det = _refold(det, *refold)
    x = _series(sum(SIZES))[:, 0]
    data = _write(tmp_path / "data", x[:, None], SIZES, ["value"])
    summary = score_parquet(det, data, tmp_path / "out", scheduler=cluster, columns=["value"])
    result, files = _read(tmp_path / "out")
    np.testing.assert_array_equal(result["score"].to_numpy(), det.anomaly_score(x))
    np.testing.assert_array_equal(result["label"].to_numpy(), det.predict(x))
    np.testing.assert_array_equal(result["step"].to_numpy(), np.arange(len(x)))
    assert [len(pd.read_parquet(f)) for f in files] == SIZES  # one output row per input row, per partition
    assert summary.rows == len(x) and summary.partitions == len(SIZES)
    assert summary.flagged == int(det.predict(x).sum()) > 0


def test_many_batches_named_columns_and_a_local_cluster(train, tmp_path):
    """A series long enough for several model batches; a DataFrame-fitted detector picks its own columns."""
    frame = pd.DataFrame(_series(800, 2, seed=1), columns=["a", "b"])
    det = SeriesDetector(model="dense", score_stride=2, **FAST).fit(frame)
    x = _series(9001, 2, seed=2)
    sizes = [2500, 19, 3000, 3482]  # 4,490 windows: 5 batches of 1,024, boundaries inside batches
    data = _write(tmp_path / "data", x, sizes, ["a", "b"], row_group_size=1000)
    score_parquet(det, data, tmp_path / "out", workers=2, processes=False)
    result, _ = _read(tmp_path / "out")
    np.testing.assert_array_equal(result["score"].to_numpy(), det.anomaly_score(pd.DataFrame(x, columns=["a", "b"])))


def test_the_threaded_scheduler_and_a_model_file(train, tmp_path):
    det = _refold(SeriesDetector(model="gru", **FAST).fit(train), "mean", 2)
    det.save(tmp_path / "m.reconad")  # the smoothing travels in the file, to every worker
    x = _series(700)[:, 0]
    data = _write(tmp_path / "data", x[:, None], [300, 5, 395], ["value"])
    score_parquet(tmp_path / "m.reconad", data, tmp_path / "out", columns=["value"])
    result, _ = _read(tmp_path / "out")
    np.testing.assert_array_equal(result["score"].to_numpy(), det.anomaly_score(x))


def test_partitions_are_read_in_natural_name_order(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    for i in (10, 2, 1):
        pd.DataFrame({"value": np.full(i, float(i))}).to_parquet(folder / f"part.{i}.parquet")
    (folder / "README.txt").write_text("not data")
    parts = list_partitions(folder, ["value"])
    assert [os.path.basename(p.path) for p in parts] == ["part.1.parquet", "part.2.parquet", "part.10.parquet"]
    assert [p.start for p in parts] == [0, 1, 3]


@pytest.mark.parametrize("model, refold", [("gru", None), ("dense", None), ("gru", ("max", 4))])
def test_score_range_matches_anomaly_score_on_random_slices(train, model, refold):
    det = SeriesDetector(model=model, score_stride=3, **FAST).fit(train)
    if refold:
        det = _refold(det, *refold)
    scorer = det.scorer_
    x = _series(3007)[:, 0]
    full = det.anomaly_score(x)
    rng = np.random.default_rng(0)
    for _ in range(25):
        a, b = sorted(rng.choice(len(x) + 1, 2, replace=False))
        lo, hi = scorer.rows_needed(a, b, len(x))
        assert 0 <= lo <= max(0, a - scorer.reach[0]) and min(len(x), b + scorer.reach[1]) <= hi <= len(x)
        c0, c1 = max(0, lo - 3), min(len(x), hi + 2)  # more context than needed is fine
        np.testing.assert_array_equal(scorer.score_range(x[c0:c1], c0, a, b, len(x)), full[a:b])
        np.testing.assert_array_equal(scorer.score_range(x[lo:hi], lo, a, b, len(x)), full[a:b])  # exactly enough
    lo, hi = scorer.rows_needed(100, 200, len(x))
    with pytest.raises(InputError, match="needs rows"):
        scorer.score_range(x[lo + 1 : hi], lo + 1, 100, 200, len(x))
    with pytest.raises(InputError, match="needs rows"):
        scorer.score_range(x[lo : hi - 1], lo, 100, 200, len(x))
    with pytest.raises(InputError, match="cannot score steps"):
        scorer.rows_needed(5, 5, len(x))


@pytest.mark.parametrize("block", [1 << 20, 7])
def test_moving_average_is_the_scipy_one_to_rounding(monkeypatch, block):
    from scipy.ndimage import uniform_filter1d

    from reconad import scoring

    monkeypatch.setattr(scoring, "SMOOTH_BLOCK", block)  # 7: many blocks, each with edges of its own
    values = np.random.default_rng(0).normal(size=101)
    for size in (1, 2, 3, 4, 9):
        np.testing.assert_allclose(
            scoring.moving_average(values, 0, 0, 101, 101, size), uniform_filter1d(values, size, mode="nearest"),
            rtol=1e-12, atol=1e-15,
        )


def test_bad_input_is_refused_and_leaves_no_output(train, tmp_path):
    det = SeriesDetector(model="gru", **FAST).fit(train)
    data = _write(tmp_path / "data", _series(300), [150, 150], ["value"])
    out = tmp_path / "out"
    cases = [
        (dict(data_dir=tmp_path / "missing"), "does not exist"),
        (dict(data_dir=tmp_path), "no .parquet files"),
        (dict(columns=["nope"]), r"no columns \['nope'\]"),
        (dict(columns=["value", "note"]), "2 feature columns"),
        (dict(columns=None), "2 feature columns"),  # every column, the text one included
        (dict(workers=2, scheduler="tcp://127.0.0.1:1"), "not both"),
        (dict(workers=0), "workers must be"),
    ]
    for kwargs, message in cases:
        kwargs = {"data_dir": data, "columns": ["value"], **kwargs}
        with pytest.raises(InputError, match=message):
            score_parquet(det, out_dir=out, **kwargs)
    short = _write(tmp_path / "short", _series(15), [10, 5], ["value"])
    with pytest.raises(InputError, match="fewer than one window"):
        score_parquet(det, short, out, columns=["value"])
    nan = _series(300)
    nan[200] = np.nan
    with pytest.raises(InputError, match="NaN"):
        score_parquet(det, _write(tmp_path / "nan", nan, [150, 150], ["value"]), out, columns=["value"])
    with pytest.raises(InputError, match="not fitted|does not exist"):
        score_parquet(tmp_path / "missing.reconad", data, out, columns=["value"])
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []  # no staging folder left
    out.mkdir()
    (out / "old.parquet").write_bytes(b"x")
    with pytest.raises(InputError, match="already exists"):
        score_parquet(det, data, out, columns=["value"])


def _cli_has_dask() -> bool:
    from reconad.cli import build_parser

    return "--engine" in build_parser()._subparsers._group_actions[0].choices["score"].format_help()


def test_cli_score_engine_dask(train, tmp_path, capsys):
    if not _cli_has_dask():
        pytest.skip("this version of `reconad score` has no --engine dask")
    from reconad.cli import main

    det = SeriesDetector(model="gru", **FAST).fit(train)
    det.save(tmp_path / "m.reconad")
    x = _series(500)[:, 0]
    data = _write(tmp_path / "data", x[:, None], [200, 11, 289], ["value"])
    out = tmp_path / "out"
    assert main(["score", str(tmp_path / "m.reconad"), str(data), "--engine", "dask", "--out", str(out),
                 "--columns", "value", "--quiet"]) == 0
    assert "scored 500 rows in 3 partitions" in capsys.readouterr().out
    result, _ = _read(out)
    np.testing.assert_array_equal(result["score"].to_numpy(), det.anomaly_score(x))
    for extra in (["--regions", str(tmp_path / "r.csv")], ["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"]):
        code = main(["score", str(tmp_path / "m.reconad"), str(data), "--engine", "dask", "--out",
                     str(tmp_path / "again"), "--columns", "value", *extra])
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert main(["score", str(tmp_path / "m.reconad"), str(data), "--out", str(tmp_path / "s.csv"),
                 "--workers", "2"]) == 2
    assert "need --engine dask" in capsys.readouterr().err
    assert not (tmp_path / "again").exists() and not (tmp_path / "s.csv").exists()


# ---- hostile data and a cluster that stays private (issue 36) ------------------------------------------------------


def test_the_local_cluster_listens_on_loopback_only(train, tmp_path, monkeypatch):
    import distributed
    import psutil

    det = SeriesDetector(model="dense", **FAST).fit(train)
    x = _series(600)
    seen = {}
    real = distributed.LocalCluster

    def listening() -> set:
        return {c.laddr for c in psutil.Process().net_connections() if c.status == "LISTEN"}

    class Recording(real):
        def __init__(self, *args, **kwargs):
            before = listening()
            super().__init__(*args, **kwargs)
            seen["listening"] = {address.ip for address in listening() - before}

    monkeypatch.setattr(distributed, "LocalCluster", Recording)
    score_parquet(det, _write(tmp_path / "data", x, [300, 300], ["x"]), tmp_path / "out", workers=1,
                  processes=False, columns=["x"])
    assert seen["listening"] and seen["listening"] <= {"127.0.0.1", "::1"}, seen  # the dashboard too


def test_int_and_double_partitions_score_like_one_process(train, tmp_path):
    det = SeriesDetector(model="dense", **FAST).fit(train)
    x = np.round(_series(900) * 100)  # whole numbers: int64 in one file, double in the next
    folder = tmp_path / "data"
    folder.mkdir()
    pd.DataFrame({"x": x[:400, 0].astype(np.int64)}).to_parquet(folder / "part.0.parquet")
    pd.DataFrame({"x": x[400:, 0]}).to_parquet(folder / "part.1.parquet")
    score_parquet(det, folder, tmp_path / "out")
    out = pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "out").glob("*.parquet"))])
    np.testing.assert_array_equal(out["score"].to_numpy(), det.anomaly_score(x))


def test_a_text_column_in_one_partition_is_one_line_naming_the_file(train, tmp_path):
    det = SeriesDetector(model="dense", **FAST).fit(train)
    folder = tmp_path / "data"
    folder.mkdir()
    pd.DataFrame({"x": np.zeros(300)}).to_parquet(folder / "part.0.parquet")
    pd.DataFrame({"x": ["1.5"] * 300}).to_parquet(folder / "part.1.parquet")
    with pytest.raises(InputError) as caught:
        score_parquet(det, folder, tmp_path / "out")
    message = str(caught.value)
    assert "part.1.parquet" in message and "'x'" in message and "not numbers" in message and "\n" not in message
    assert not (tmp_path / "out").exists()


def test_a_nan_is_refused_naming_the_file_row_and_column(train, tmp_path):
    det = SeriesDetector(model="dense", **FAST).fit(train)
    x = _series(900)
    x[650, 0] = np.nan
    folder = _write(tmp_path / "data", x, [400, 500], ["x"])
    with pytest.raises(InputError) as caught:
        score_parquet(det, folder, tmp_path / "out", workers=1, processes=False, columns=["x"])
    message = str(caught.value)
    assert "part.1.parquet" in message and "column 'x'" in message and "its row 250" in message
    assert "X_context" not in message and "rows has" not in message
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.*"))


def test_an_overflow_on_dask_is_the_scorers_message_naming_the_partition(train, tmp_path):
    det = SeriesDetector(model="dense", **FAST).fit(train)
    x = _series(900)
    x[650:660, 0] = 1e38
    # both tasks read the overflow (partition 0's windows run in the same whole-series batch), so either may fail
    # first: the message names whichever partition it was, its rows, and the scorer's own words
    with pytest.raises(InputError, match=r"part\.[01]\.parquet \(rows [\d,]+ to [\d,]+ of the series\): .*"
                                         "reconstruction error overflows"):
        score_parquet(det, _write(tmp_path / "data", x, [400, 500], ["x"]), tmp_path / "out", columns=["x"])

"""Outputs of ``reconad score`` (issue 36): never over an input or each other, scores and regions as one unit,
and temporary files of killed runs named as such and cleaned up."""

import os
import time

import numpy as np
import pandas as pd
import pytest

import reconad.atomic as atomic
from reconad import InputError, SeriesDetector
from reconad.atomic import PARTIAL, atomic_write_bytes, atomic_write_many, remove_stale_partials
from reconad.cli import main

FAST = dict(window=20, stride=5, epochs=1, hidden_size=8, batch_size=16, verbose=False, random_state=0)


@pytest.fixture()
def files(tmp_path):
    data = tmp_path / "data.csv"
    t = np.arange(300)
    pd.DataFrame({"a": np.sin(t / 10)}).to_csv(data, index=False)
    model = tmp_path / "m.reconad"
    model.write_bytes(b"not read: the paths are refused first")
    return tmp_path, data, model


@pytest.mark.parametrize("case", ["out is regions", "out is the data", "regions is the data", "out is the model",
                                  "out is a link to the data"])
def test_an_output_that_is_an_input_or_the_other_output_is_refused(files, case, capsys):
    folder, data, model = files
    before = data.read_bytes()
    link = folder / "link.csv"
    link.symlink_to(data)
    out, regions = {"out is regions": (folder / "x.csv", folder / "x.csv"),
                    "out is the data": (data, None), "regions is the data": (folder / "s.csv", data),
                    "out is the model": (folder / "m.reconad", None), "out is a link to the data": (link, None)}[case]
    argv = ["score", str(model), str(data), "--out", str(out)] + (["--regions", str(regions)] if regions else [])
    code = main(argv)
    err = capsys.readouterr().err
    if case == "out is the model":  # refused by its suffix already
        assert code == 2 and "must end in" in err
    else:
        assert code == 2 and "is the same file as" in err, err
    assert data.read_bytes() == before and not (folder / "x.csv").exists() and not (folder / "s.csv").exists()


def test_scores_and_regions_are_written_as_one_unit(tmp_path):
    t = np.arange(400)
    x = np.sin(t / 10)
    det = SeriesDetector(model="dense", **FAST).fit(x)
    det.save(tmp_path / "m.reconad")
    x[300:320] += 5
    pd.DataFrame({"a": x}).to_csv(tmp_path / "d.csv", index=False)
    argv = ["score", str(tmp_path / "m.reconad"), str(tmp_path / "d.csv"), "--out", str(tmp_path / "s.csv"),
            "--regions", str(tmp_path / "r.csv"), "--quiet"]
    assert main(argv) == 0
    scores, regions = pd.read_csv(tmp_path / "s.csv"), pd.read_csv(tmp_path / "r.csv")
    assert len(scores) == 400 and len(regions) >= 1
    assert not list(tmp_path.glob(f"*{PARTIAL}"))


def test_a_failure_while_writing_leaves_both_old_files(tmp_path, monkeypatch):
    first, second = tmp_path / "scores.csv", tmp_path / "regions.csv"
    first.write_bytes(b"old scores")
    second.write_bytes(b"old regions")
    real = atomic._write_partial
    calls = []

    def failing(path, data):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt  # a kill in the long part: writing the second file
        return real(path, data)

    monkeypatch.setattr(atomic, "_write_partial", failing)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_many([(first, b"new scores"), (second, b"new regions")])
    assert first.read_bytes() == b"old scores" and second.read_bytes() == b"old regions"
    assert not list(tmp_path.glob(f"*{PARTIAL}"))


def test_a_kill_between_the_renames_never_leaves_new_scores_beside_old_regions(tmp_path, monkeypatch):
    first, second = tmp_path / "scores.csv", tmp_path / "regions.csv"
    first.write_bytes(b"old scores")
    second.write_bytes(b"old regions")
    real = os.replace

    def replace(src, dst):
        if os.fspath(dst) == os.fspath(first):
            raise KeyboardInterrupt  # killed after the regions were renamed, before the scores
        return real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_many([(first, b"new scores"), (second, b"new regions")])
    assert not first.exists()  # missing, never stale: when the scores exist, the regions are from their run
    assert second.read_bytes() == b"new regions"


def test_two_outputs_naming_one_file_are_refused(tmp_path):
    with pytest.raises(InputError, match="same file"):
        atomic_write_many([(tmp_path / "a.csv", b"1"), (tmp_path / "." / "a.csv", b"2")])


def test_partial_files_of_killed_runs_are_removed_and_others_kept(tmp_path):
    target = tmp_path / "scores.csv"
    dead = tmp_path / f".scores.csv.999999999.abc{PARTIAL}"  # a pid that does not exist
    fresh = tmp_path / f".scores.csv.999999998.def{PARTIAL}"  # dead too, but changed seconds ago: maybe writing
    mine = tmp_path / f".scores.csv.{os.getpid()}.ghi{PARTIAL}"  # a live writer
    other = tmp_path / f".other.csv.999999999.jkl{PARTIAL}"  # another target's
    for path in (dead, fresh, mine, other):
        path.write_bytes(b"x" * 1000)
    long_ago = time.time() - 3600
    for path in (dead, mine, other):
        os.utime(path, (long_ago, long_ago))
    atomic_write_bytes(target, b"scores")
    assert target.read_bytes() == b"scores"
    assert not dead.exists() and fresh.exists() and mine.exists() and other.exists()
    assert remove_stale_partials(target) == []

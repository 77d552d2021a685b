"""The paper cuts a new user met (issue 35): each answer names what to do, with the usage of the right command."""

import numpy as np
import pandas as pd
import pytest

import reconad.commands.fit
from reconad.cli import main

FAST = ["--window", "8", "--stride", "4", "--epochs", "1", "--hidden-size", "4", "--random-state", "0", "--quiet"]


def call(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def log_csv(tmp_path):
    step = np.arange(2000)
    pd.DataFrame({"t": step, "value": np.sin(step / 9), "other": np.cos(step / 7)}).to_csv(tmp_path / "in.csv",
                                                                                          index=False)
    return tmp_path / "in.csv"


@pytest.mark.parametrize("argv", [["fit", "data.csv", "--out", "m.reconad"],
                                  ["score", "m.reconad", "data.csv", "--out", "s.csv"],
                                  ["evaluate", "m.reconad", "data.csv"]])
def test_an_unknown_option_prints_the_subcommands_usage(capsys, argv):
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--bogus"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: reconad {argv[0]} "), err
    assert f"reconad {argv[0]}: error: unrecognized arguments: --bogus" in err


def test_rows_past_the_end_of_the_file_are_refused_with_its_row_count(capsys, tmp_path, log_csv):
    for rows in (":50000", "2001:", "-2500:"):
        code, _, err = call(capsys, "fit", log_csv, "--out", tmp_path / "m.reconad", "--time-col", "t",
                            f"--rows={rows}", *FAST)
        assert code == 2 and f"--rows {rows} reaches past the end" in err and "has 2,000 rows" in err, err
    assert not (tmp_path / "m.reconad").exists()


def test_an_unknown_model_for_a_table_lists_only_the_series_models(capsys, tmp_path, log_csv):
    from reconad.models import list_models

    image_models = list_models(kind="image")
    for name in ("nosuch", image_models[0]):
        code, _, err = call(capsys, "fit", log_csv, "--out", tmp_path / "m.reconad", "--model", name, *FAST)
        assert code == 2 and "choose one of the series models: " + ", ".join(list_models(kind="series")) in err, err
        assert not any(f" {m}," in err or err.rstrip().endswith(m) for m in image_models if m != name), err
    assert "is an image model" in err


def test_a_missing_model_column_error_lists_the_files_columns(capsys, tmp_path, log_csv):
    model = tmp_path / "m.reconad"
    code, _, err = call(capsys, "fit", log_csv, "--out", model, "--time-col", "t", "--rows", ":300", "--model",
                        "dense", *FAST)
    assert code == 0, err
    pd.read_csv(log_csv).rename(columns={"other": "renamed"}).to_csv(tmp_path / "in_new.csv", index=False)
    code, _, err = call(capsys, "score", model, tmp_path / "in_new.csv", "--out", tmp_path / "s.csv", "--time-col",
                        "t")
    assert code == 2 and "lacks the columns ['other']" in err and "its columns are ['t', 'value', 'renamed']" in err


def test_ctrl_c_exits_130(capsys, monkeypatch, log_csv, tmp_path):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(reconad.commands.fit, "run", interrupted)
    code, _, err = call(capsys, "fit", log_csv, "--out", tmp_path / "m.reconad")
    assert code == 130 and err.strip() == "interrupted"

"""Messy timestamps (repeated, unsorted) read with each remedy, and label-like columns kept out of the features."""

import logging

import numpy as np
import pandas as pd
import pytest

from reconad.data.tables import label_like, read_table
from reconad.errors import InputError

# times 1, 3, 2, 2, 4: row 2 goes back in time, and time 2 appears twice (rows 2 and 3)
MESSY = "t,a,b,y\n1,10,1,0\n3,30,3,0\n2,20,2,0\n2,22,4,1\n4,40,5,0\n"


def messy(tmp_path):
    path = tmp_path / "messy.csv"
    path.write_text(MESSY)
    return path


def test_messy_times_are_refused_by_default_with_the_option_that_accepts_them(tmp_path):
    with pytest.raises(InputError, match=r"not sorted.*--unsorted sort"):
        read_table(messy(tmp_path), time_col="t")
    with pytest.raises(InputError, match=r"duplicate time 2 .*--duplicate-times first, last or mean"):
        read_table(messy(tmp_path), time_col="t", unsorted="sort")


@pytest.mark.parametrize("duplicates, a, b, y", [
    ("first", [10, 20, 30, 40], [1, 2, 3, 5], [0, 0, 0, 0]),
    ("last", [10, 22, 30, 40], [1, 4, 3, 5], [0, 1, 0, 0]),
    ("mean", [10, 21, 30, 40], [1, 3, 3, 5], [0, 1, 0, 0]),
])
def test_each_remedy_sorts_then_keeps_one_row_per_time(tmp_path, caplog, duplicates, a, b, y):
    with caplog.at_level(logging.WARNING):
        features, labels, time = read_table(messy(tmp_path), time_col="t", label_col="y", unsorted="sort",
                                            duplicates=duplicates)
    assert list(time) == [1, 2, 3, 4]
    np.testing.assert_allclose(features["a"], a)
    np.testing.assert_allclose(features["b"], b)
    assert labels.tolist() == y and labels.dtype == np.int8
    text = caplog.text
    assert "moved 3 of 5 rows" in text  # rows 1, 2, 3
    assert "2 rows share their time" in text and "1 rows removed" in text


def test_sorted_repeated_times_need_no_sort_and_dates_work(tmp_path, caplog):
    frame = pd.DataFrame({"time": ["2024-10-27 02:00", "2024-10-27 02:30", "2024-10-27 02:00",
                                   "2024-10-27 02:30", "2024-10-27 03:00"], "value": [1.0, 2, 3, 4, 5]})
    with pytest.raises(InputError, match="not sorted"):
        read_table(frame, time_col="time", duplicates="mean")
    with caplog.at_level(logging.WARNING):
        features, _, time = read_table(frame, time_col="time", duplicates="mean", unsorted="sort")
    assert list(time) == list(pd.to_datetime(["2024-10-27 02:00", "2024-10-27 02:30", "2024-10-27 03:00"]))
    np.testing.assert_allclose(features["value"], [2, 3, 5])
    assert "4 rows share their time" in caplog.text


def test_unknown_remedies_are_refused():
    frame = pd.DataFrame({"t": [1, 2], "a": [1.0, 2.0]})
    with pytest.raises(InputError, match="duplicates must be one of"):
        read_table(frame, time_col="t", duplicates="drop")
    with pytest.raises(InputError, match="unsorted must be one of"):
        read_table(frame, time_col="t", unsorted="yes")


def test_label_like_columns_are_never_features_unless_named(caplog):
    frame = pd.DataFrame({"value": [1.0, 2, 3], "Anomaly": [0, 1, 0], "is_anomaly": [0, 1, 0],
                          "TARGET": [0, 0, 1], "labels": [1, 1, 1]})
    assert label_like(frame.columns) == ["Anomaly", "is_anomaly", "TARGET"]
    with caplog.at_level(logging.WARNING):
        features, labels, _ = read_table(frame)
    assert list(features.columns) == ["value", "labels"] and labels is None  # "labels" is not one of the names
    assert "'Anomaly', 'is_anomaly', 'TARGET'" in caplog.text and "--columns" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        features, labels, _ = read_table(frame, label_col="Anomaly", columns=["value", "TARGET"])
    assert list(features.columns) == ["value", "TARGET"] and labels.tolist() == [0, 1, 0]
    assert caplog.text == ""  # named: nothing set aside
    with caplog.at_level(logging.WARNING):
        features, _, _ = read_table(frame, label_col="is_anomaly", drop=["TARGET"])
    assert list(features.columns) == ["value", "labels"] and "'Anomaly'" in caplog.text


def test_a_table_of_label_like_columns_alone_says_how_to_use_them():
    with pytest.raises(InputError, match=r"label-like columns \['changepoint'\] \(name them in --columns"):
        read_table(pd.DataFrame({"changepoint": [0, 1, 0]}))


# ---- through the command line -------------------------------------------------------------------------------------

FAST = ["--window", "8", "--stride", "4", "--epochs", "1", "--hidden-size", "4", "--random-state", "0", "--quiet",
        "--model", "dense"]


def sensor_log(rows=120, seed=0):
    rng = np.random.default_rng(seed)
    step = np.arange(rows)
    anomaly = ((step >= 80) & (step < 90)).astype(int)
    return pd.DataFrame({"t": step, "value": np.sin(step / 4) + 0.05 * rng.normal(size=rows) + 2 * anomaly,
                         "Anomaly": anomaly})


def call(capsys, *args):
    from reconad.cli import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_remedies_for_repeated_and_unsorted_times(tmp_path, capsys, caplog):
    frame = sensor_log()
    messy_log = pd.concat([frame.iloc[:50], frame.iloc[40:50], frame.iloc[50:]])  # an hour logged twice
    messy_log = messy_log.iloc[[*range(20), 21, 20, *range(22, len(messy_log))]]  # and two rows swapped
    messy_log.to_csv(tmp_path / "log.csv", index=False)
    model = tmp_path / "m.reconad"
    code, _, err = call(capsys, "fit", tmp_path / "log.csv", "--out", model, "--time-col", "t", *FAST)
    assert code == 2 and "--unsorted sort" in err and not model.exists()
    code, _, err = call(capsys, "fit", tmp_path / "log.csv", "--out", model, "--time-col", "t", "--unsorted", "sort",
                        *FAST)
    assert code == 2 and "--duplicate-times first, last or mean" in err
    code, _, err = call(capsys, "fit", tmp_path / "log.csv", "--out", model, "--duplicate-times", "first", *FAST)
    assert code == 2 and "--time-col" in err  # a remedy without a time column would do nothing
    with caplog.at_level(logging.WARNING):
        code, _, err = call(capsys, "fit", tmp_path / "log.csv", "--out", model, "--time-col", "t", "--unsorted",
                            "sort", "--duplicate-times", "last", *FAST)
        assert code == 0, err
        assert "moved 20 of 130 rows" in caplog.text and "20 rows share their time" in caplog.text
        code, _, err = call(capsys, "score", model, tmp_path / "log.csv", "--out", tmp_path / "s.csv", "--time-col",
                            "t", "--unsorted", "sort", "--duplicate-times", "mean", "--quiet")
    assert code == 0, err
    assert pd.read_csv(tmp_path / "s.csv")["t"].tolist() == list(range(120))


def test_cli_label_like_column_is_set_aside_and_used_as_the_labels(tmp_path, capsys, caplog):
    sensor_log().to_csv(tmp_path / "log.csv", index=False)
    model = tmp_path / "m.reconad"
    with caplog.at_level(logging.WARNING):
        code, out, err = call(capsys, "fit", tmp_path / "log.csv", "--out", model, "--time-col", "t", *FAST)
    assert code == 0, err
    assert "× 1 features (value)" in out and "'Anomaly'" in caplog.text
    import reconad

    assert reconad.load(model).feature_names_in_ == ["value"]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        code, out, err = call(capsys, "evaluate", model, tmp_path / "log.csv", "--time-col", "t",
                              "--json", tmp_path / "m.json", "--quiet")
    assert code == 0, err
    assert "using column 'Anomaly'" in caplog.text and "oracle" in out
    with caplog.at_level(logging.WARNING):  # named in --columns, it is a feature
        code, out, err = call(capsys, "fit", tmp_path / "log.csv", "--out", tmp_path / "m2.reconad", "--time-col",
                              "t", "--columns", "value,Anomaly", *FAST)
    assert code == 0, err
    assert reconad.load(tmp_path / "m2.reconad").feature_names_in_ == ["value", "Anomaly"]
    sensor_log().drop(columns="Anomaly").to_csv(tmp_path / "plain.csv", index=False)
    code, _, err = call(capsys, "evaluate", model, tmp_path / "plain.csv", "--time-col", "t", "--quiet")
    assert code == 2 and "needs --labels COLUMN" in err

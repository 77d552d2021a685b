import warnings

import numpy as np
import pandas as pd
import pytest

from reconad.data.tables import read_table, sniff_separator
from reconad.errors import InputError


def write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_separator_is_sniffed(tmp_path, sep):
    rows = ["t,a,b,label", "1,0.5,1.5,0", "2,0.25,2.5,1", "3,1e-3,3,0"]
    path = write(tmp_path / "x.csv", "\n".join(r.replace(",", sep) for r in rows) + "\n")
    features, labels, time = read_table(path, time_col="t", label_col="label")
    assert list(features.columns) == ["a", "b"]
    np.testing.assert_allclose(features["a"], [0.5, 0.25, 1e-3])
    assert labels.tolist() == [0, 1, 0] and labels.dtype == np.int8
    assert time.tolist() == [1, 2, 3] and time.name == "t"


def test_sniffing_keeps_decimal_points_and_falls_back_to_comma():
    assert sniff_separator("a;b\n1.5;2.5\n") == ";"
    assert sniff_separator("single\n1\n2\n") == ","
    assert sniff_separator("") == ","


def test_explicit_separator_dates_columns_and_drop(tmp_path):
    path = write(tmp_path / "x.txt", "when;a;b;c;anomaly;changepoint\n"
                                     "2020-01-01 00:00:00;1;2;3;0.0;0.0\n"
                                     "2020-01-01 00:00:01;4;5;6;1.0;1.0\n")
    table = read_table(path, sep=";", time_col="when", label_col="anomaly", drop=["changepoint"])
    assert list(table.features.columns) == ["a", "b", "c"]
    assert isinstance(table.time, pd.DatetimeIndex) and table.labels.tolist() == [0, 1]
    table = read_table(path, sep=";", columns=["c", "a"], time_col="when")
    assert list(table.features.columns) == ["c", "a"] and table.labels is None


def test_parquet_and_dataframe(tmp_path):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": [0, 0, 1]})
    frame.to_parquet(tmp_path / "x.parquet")
    features, labels, time = read_table(tmp_path / "x.parquet", label_col="y")
    assert features.shape == (3, 1) and labels.tolist() == [0, 0, 1] and time is None
    features, _, _ = read_table(frame)
    assert list(features.columns) == ["a", "y"]


def test_a_time_index_is_the_time_column_it_names(tmp_path):
    pytest.importorskip("pyarrow")
    times = pd.date_range("2024-01-01", periods=4, freq="min", name="timestamp")
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.5, 0.1, 0.2, 0.3]}, index=times)
    frame.to_parquet(tmp_path / "indexed.parquet")  # pandas keeps the index; the file has no "timestamp" column
    for source in (tmp_path / "indexed.parquet", frame):
        features, _, time = read_table(source, time_col="timestamp")
        assert list(features.columns) == ["a", "b"] and time.name == "timestamp"
        assert list(time) == list(times)
        features, _, time = read_table(source)  # without time_col the index stays out of the features
        assert list(features.columns) == ["a", "b"] and time is None


def test_times_across_a_clock_change_become_utc(tmp_path):
    # Berlin's clock went back at 03:00 on 2024-10-27: the local times repeat, the offsets tell them apart
    instants = pd.date_range("2024-10-27 00:30", periods=4, freq="20min", tz="UTC")
    local = [t.tz_convert("Europe/Berlin").isoformat() for t in instants]
    assert local[2][:19] < local[1][:19] and local[0][-6:] != local[-1][-6:]  # the naive times go back
    path = write(tmp_path / "dst.csv", "t,a\n" + "".join(f"{t},{i}\n" for i, t in enumerate(local)))
    _, _, time = read_table(path, time_col="t")
    assert list(time) == list(instants)


def test_day_first_dates_read_without_a_warning(tmp_path):
    path = write(tmp_path / "eu.csv", "t,a\n31/03/2024 10:00,1\n31/03/2024 10:01,2\n01/04/2024 10:02,3\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # pandas warns that it inferred a day-first format
        _, _, time = read_table(path, time_col="t")
    assert [str(w.message) for w in caught] == []
    assert [str(t) for t in time] == ["2024-03-31 10:00:00", "2024-03-31 10:01:00", "2024-04-01 10:02:00"]


def test_decimal_commas_in_a_semicolon_file(tmp_path):
    # a European spreadsheet's CSV: ; between fields, a comma before the decimals
    path = write(tmp_path / "eu.csv", "t;a;b;site\n1;1,5;-2;x\n2;1,25e-3;3,0;y\n")
    features, _, _ = read_table(path, time_col="t", columns=["a", "b"])
    np.testing.assert_allclose(features.to_numpy(), [[1.5, -2.0], [1.25e-3, 3.0]])
    with pytest.raises(InputError, match=r"non-numeric columns \['site'\]"):  # text stays text
        read_table(path, time_col="t")


def test_interpolate_fills_missing_values(tmp_path):
    path = write(tmp_path / "x.csv", "a,b\n1,\n,2\n3,4\n")
    with pytest.raises(InputError, match=r"2 missing \(NaN\) values.*row 0, column 'b'.*--nan interpolate"):
        read_table(path)
    features, _, _ = read_table(path, nan_policy="interpolate")
    np.testing.assert_allclose(features.to_numpy(), [[1, 2], [2, 2], [3, 4]])


@pytest.mark.parametrize(
    "text, options, message",
    [
        ("", {}, "is empty"),
        ("\n\n", {}, "is empty"),
        ("a,b\n", {}, "no data rows"),
        ("a,name\n1,x\n2,y\n", {}, r"non-numeric columns \['name'\].*--time-col"),
        ("a,b,a\n1,2,3\n", {}, r"several columns named \['a'\]; rename them"),  # pandas would read "a" and "a.1"
        ("a,on\n1,True\n2,False\n", {}, r"non-numeric columns \['on'\] \(\['on'\] hold True/False; write them as 0/1"),
        ("a,b\n1,2\n", {"label_col": "y"}, r"label column \['y'\] not found.*its columns are \['a', 'b'\]"),
        ("a,b\n1,2\n", {"time_col": "t"}, r"time column \['t'\] not found"),
        ("a,b\n1,2\n", {"columns": ["a", "zz"]}, r"columns \['zz'\] not found"),
        ("t,a\n1,1\n3,2\n2,3\n", {"time_col": "t"}, r"not sorted \(data row 2"),
        ("t,a\n1,1\n2,2\n2,3\n", {"time_col": "t"}, r"duplicate time 2 at data row 2"),
        ("t,a\n2020-01-01,1\nnot a date,2\n", {"time_col": "t"}, "neither numbers nor dates"),
        ("a,y\n1,0\n2,2\n", {"label_col": "y"}, r"only 0 \(normal\) and 1 \(anomaly\)"),
        ("a,y\n1,0\n2,\n", {"label_col": "y"}, "1 missing values"),
        ("a\n1\ninf\n", {}, "infinite values"),
        ("a,b\n1,\n2,\n", {"nan_policy": "interpolate"}, r"no values at all \['b'\]"),
        ("a,y\n1,0\n", {"label_col": "y", "columns": ["a", "y"]}, "cannot also be features"),
        ("y\n1\n", {"label_col": "y"}, "no feature columns"),
        ("a\n1\n", {"nan_policy": "drop"}, "nan_policy must be one of"),
    ],
)
def test_bad_tables_raise_one_clear_error(tmp_path, text, options, message):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(InputError, match=message):
        read_table(path, **options)


@pytest.mark.parametrize("columns", [["a", "a", "b"], [1, "1", "b"]])
def test_columns_sharing_a_name_are_refused(columns):
    # pandas reads both columns under one name, and once the names are strings 1 and "1" are one name
    frame = pd.DataFrame(np.ones((5, 3)), columns=columns)
    with pytest.raises(InputError, match=r"several columns named \[.(a|1).\]; rename them"):
        read_table(frame)


def test_missing_folder_and_binary_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is a folder"):
        read_table(tmp_path)
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x01abc")
    with pytest.raises(InputError, match="not a UTF-8 text CSV"):
        read_table(tmp_path / "bin.csv")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="Parquet"):
        read_table(tmp_path / "broken.parquet")


def test_skab_file(skab_file):
    features, labels, time = read_table(skab_file, time_col="datetime", label_col="anomaly", drop=["changepoint"])
    assert features.shape[1] == 8 and "Current" in features.columns
    assert len(labels) == len(features) == len(time) and 0 < labels.sum() < len(labels)
    assert time.is_monotonic_increasing


@pytest.fixture
def skab_file():
    from conftest import require_dataset

    return require_dataset("skab") / "valve1" / "0.csv"

"""Tables → checked features: one row per time step from a CSV or Parquet file (or a DataFrame).

:func:`read_table` returns the numeric feature columns, the 0/1 labels of a label column (if named) and the
time column (if named), or raises one :class:`InputError` that names the problem and the fix: missing or
empty file, unknown column, non-numeric feature column, NaN / infinite values, unsorted or duplicate times (unless
a remedy is asked for, :mod:`reconad.data.times`), labels that are not 0/1. Label-like columns (``anomaly``,
``label``, ...) are never features unless named in ``columns``.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from reconad.data.times import check_policies, order_rows, parse_times
from reconad.errors import InputError
from reconad.validation import boolean_hint, column_names, non_numeric

PARQUET_SUFFIXES = (".parquet", ".pq")
NAN_POLICIES = ("raise", "interpolate")
# columns that hold labels in public datasets (NAB, SKAB, ...): never features unless named (case-insensitive)
LABEL_LIKE = ("anomaly", "label", "is_anomaly", "changepoint", "target")
_DELIMITERS = ",;\t|"

log = logging.getLogger(__name__)


class Table(NamedTuple):
    """What :func:`read_table` returns; unpacks as ``features, labels, time``."""

    features: pd.DataFrame  # (T, D) numeric columns, RangeIndex
    labels: np.ndarray | None  # (T,) int8 0/1, or None without a label column
    time: pd.Index | None  # (T,) strictly increasing times (DatetimeIndex or numeric), or None


def is_parquet(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in PARQUET_SUFFIXES


def sniff_separator(sample: str) -> str:
    """The field separator of a CSV sample (one of ``, ; TAB |``); a comma when it cannot be told."""
    lines = [line for line in sample.splitlines() if line.strip()][:20]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        # the header decides: the candidate that splits it into the most fields
        counts = {d: lines[0].count(d) for d in _DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


_DECIMAL_COMMA = r"-?\d+,\d+(?:[eE][-+]?\d+)?"  # a number written with a decimal comma


def _decimal_commas(frame: pd.DataFrame) -> bool:
    """Whether some text column holds only numbers written with a decimal comma (and whole numbers), judged on its
    first 1,000 values."""
    for column in frame.columns:
        values = frame[column].dropna().head(1000)
        if len(values) and not pd.api.types.is_numeric_dtype(values) and values.map(type).eq(str).all():
            text = values.str.strip()
            if text.str.fullmatch(_DECIMAL_COMMA).any() and text.str.fullmatch(f"{_DECIMAL_COMMA}|-?\\d+").all():
                return True
    return False


def _read_csv(path: Path, sep: str | None) -> pd.DataFrame:
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(f"{path} is empty; pass a CSV with a header row and one row per time step")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not a UTF-8 text CSV ({exc.reason} at byte {exc.start}); "
                         "save it as UTF-8 CSV or Parquet") from exc
    if sep is None:
        sep = sniff_separator(text[:65536])
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep)
        if sep != "," and _decimal_commas(frame):  # "1,5" in a ;-separated file, as a European spreadsheet saves it
            frame = pd.read_csv(io.StringIO(text), sep=sep, decimal=",")
        header = pd.read_csv(io.StringIO(text), sep=sep, header=None, nrows=1, dtype=str).iloc[0]
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{path} is empty; pass a CSV with a header row and one row per time step") from exc
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise InputError(f"{path} could not be parsed as CSV with separator {sep!r} ({detail}); "
                         "check the file or pass --sep") from exc
    named = header.dropna()  # pandas renames a repeated "a" to "a.1" (and calls empty names "Unnamed: i")
    column_names(named[named.str.strip() != ""], str(path))
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except ImportError as exc:
        raise InputError(f"reading {path} needs a Parquet engine; pip install pyarrow") from exc
    except Exception as exc:  # pyarrow raises its own error types for damaged files
        raise InputError(f"{path} could not be read as Parquet ({type(exc).__name__}: {exc})") from exc


def load_frame(path: str | os.PathLike, sep: str | None = None) -> pd.DataFrame:
    """The raw table in a CSV (separator ``sep``, sniffed when None) or Parquet file (by suffix)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"data file {path} does not exist; check the path")
    if path.is_dir():
        raise InputError(f"{path} is a folder; pass a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty; pass a file with a header row and one row per time step")
    return _read_parquet(path) if is_parquet(path) else _read_csv(path, sep)


def _require_columns(frame: pd.DataFrame, names: Sequence[str], what: str, source: str) -> None:
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise InputError(f"{what} {missing} not found in {source}; its columns are {[str(c) for c in frame.columns]}")


def _labels(column: pd.Series, name: str, source: str) -> np.ndarray:
    if column.isna().any():
        raise InputError(f"label column {name!r} in {source} has {int(column.isna().sum())} missing values; "
                         "every row needs 0 (normal) or 1 (anomaly)")
    values = pd.to_numeric(column, errors="coerce")
    if values.isna().any() or not values.isin((0, 1)).all():
        bad = sorted({str(v) for v in column[~values.isin((0, 1))].head(5)})
        raise InputError(f"label column {name!r} in {source} must hold only 0 (normal) and 1 (anomaly); found {bad}")
    return values.to_numpy().astype(np.int8)


def _check_numeric(features: pd.DataFrame, source: str, time_col: str | None) -> None:
    bad = non_numeric(features)
    if bad:
        hint = boolean_hint(features) or ("" if time_col else " (a time column? pass it with --time-col)")
        raise InputError(f"{source} has non-numeric columns {bad}{hint}; select numeric sensor columns with "
                         "--columns a,b,c")


def _handle_missing(features: pd.DataFrame, nan_policy: str, source: str) -> pd.DataFrame:
    values = features.to_numpy(dtype=np.float64)
    infinite = np.isinf(values)
    if infinite.any():
        row, col = np.argwhere(infinite)[0]
        raise InputError(f"{source} has {int(infinite.sum())} infinite values (first at data row {row}, column "
                         f"{features.columns[col]!r}); replace them with numbers")
    missing = np.isnan(values)
    if not missing.any():
        return features
    if nan_policy == "raise":
        row, col = np.argwhere(missing)[0]
        raise InputError(f"{source} has {int(missing.sum())} missing (NaN) values (first at data row {row}, column "
                         f"{features.columns[col]!r}); fill them, or pass --nan interpolate")
    empty = [str(c) for c in features.columns if features[c].isna().all()]
    if empty:
        raise InputError(f"{source} has columns with no values at all {empty}; drop them with --columns")
    return features.interpolate(method="linear", limit_direction="both")


def label_like(names: Sequence[str]) -> list[str]:
    """The names among ``names`` that label columns go by (``anomaly``, ``label``, ... in any case), in order."""
    return [str(name) for name in names if str(name).strip().lower() in LABEL_LIKE]


def _default_features(frame: pd.DataFrame, special: list[str], drop: list[str], source: str) -> pd.DataFrame:
    """Every column but the time, label and dropped ones, and label-like ones (set aside with a warning)."""
    aside = [name for name in label_like(frame.columns) if name not in (*special, *drop)]
    if aside:
        log.warning("%s: set aside the label-like column(s) %s, which are not features (use one as the labels with "
                    "--label-col, or name it in --columns to train on it)", source, ", ".join(map(repr, aside)))
    features = frame.drop(columns=[*special, *drop, *aside])
    if features.shape[1] == 0:
        also = f" and label-like columns {aside} (name them in --columns to use them)" if aside else ""
        raise InputError(f"{source} has no feature columns besides the time, label and dropped columns{also}")
    return features


def read_table(
    path: str | os.PathLike | pd.DataFrame,
    sep: str | None = None,
    time_col: str | None = None,
    columns: Sequence[str] | None = None,
    label_col: str | None = None,
    nan_policy: str = "raise",
    drop: Sequence[str] = (),
    duplicates: str = "raise",
    unsorted: str = "raise",
) -> Table:
    """Read a table of one row per time step: ``(features, labels, time)``.

    ``path`` is a CSV file (separator ``sep``, sniffed from the first lines when None), a Parquet file
    (``.parquet`` / ``.pq``) or a DataFrame. ``columns`` selects the feature columns (default: every column
    but the time and label columns and label-like columns, :data:`LABEL_LIKE`, which are set aside with a
    warning); ``label_col`` names a 0/1 column returned as labels and never used as a feature; ``time_col``
    names a column (or the named index) of dates or numbers, which must be strictly increasing unless a remedy
    is asked for: ``unsorted="sort"`` sorts the rows by time, ``duplicates="first"`` / ``"last"`` / ``"mean"``
    keeps one row per repeated time (the mean of the features, labelled anomalous if any of its rows is); each
    logs a warning with the number of rows it changed.
    ``nan_policy="raise"`` refuses missing values, ``"interpolate"`` fills them linearly (ends: nearest value).
    ``drop`` names columns to leave out of the default feature set (e.g. a second label column).
    """
    if nan_policy not in NAN_POLICIES:
        raise InputError(f"nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}")
    check_policies(duplicates, unsorted)
    if isinstance(path, pd.DataFrame):
        frame, source = path.copy(), "the table"
    else:
        frame, source = load_frame(path, sep), str(path)
    if time_col is not None and time_col not in frame.columns and frame.index.name == time_col:
        frame = frame.reset_index()  # a time index, as DataFrame.to_parquet keeps a time-indexed frame's
    frame.columns = column_names(frame.columns, source)
    if frame.shape[1] == 0:
        raise InputError(f"{source} has no columns; pass a table with a header row")
    if len(frame) == 0:
        raise InputError(f"{source} has a header but no data rows")
    special = [name for name in (time_col, label_col) if name is not None]
    drop = [str(c) for c in drop]
    _require_columns(frame, drop, "columns to drop", source)
    _require_columns(frame, [n for n in special if n == time_col], "time column", source)
    _require_columns(frame, [n for n in special if n == label_col], "label column", source)
    if columns is not None:
        columns = [str(c) for c in columns]
        if not columns:
            raise InputError("no feature columns selected; name at least one with --columns")
        _require_columns(frame, columns, "columns", source)
        clash = [c for c in columns if c in special]
        if clash:
            raise InputError(f"columns {clash} are the time or label column and cannot also be features")
        features = frame[[c for c in columns if c not in drop]]
    else:
        features = _default_features(frame, special, drop, source)
    _check_numeric(features, source, time_col)
    features = features.reset_index(drop=True)
    labels = _labels(frame[label_col], label_col, source) if label_col is not None else None
    time = None
    if time_col is not None:
        times = parse_times(frame[time_col].reset_index(drop=True), time_col, source)
        features, labels, time = order_rows(features, labels, times, time_col, source, duplicates, unsorted)
    features = _handle_missing(features, nan_policy, source)
    return Table(features, labels, time)

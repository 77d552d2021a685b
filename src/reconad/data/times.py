"""The time column of a table: parsed into numbers or dates, then checked for order, with remedies for messy logs.

:func:`parse_times` reads a column as numbers or dates; :func:`order_rows` checks that the times go forward and,
when asked, sorts unsorted rows (``unsorted="sort"``) and merges rows that repeat a time (``duplicates="first"``,
``"last"`` or ``"mean"``), as a clock change or a logger that writes twice produces. Each remedy logs a warning
with the number of rows it changed; the default (``"raise"``) refuses such a table with one error naming the
option that would accept it.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from reconad.errors import InputError

DUPLICATE_POLICIES = ("raise", "first", "last", "mean")
UNSORTED_POLICIES = ("raise", "sort")

log = logging.getLogger(__name__)


def check_policies(duplicates: str, unsorted: str) -> None:
    if duplicates not in DUPLICATE_POLICIES:
        raise InputError(f"duplicates must be one of {DUPLICATE_POLICIES}, got {duplicates!r}")
    if unsorted not in UNSORTED_POLICIES:
        raise InputError(f"unsorted must be one of {UNSORTED_POLICIES}, got {unsorted!r}")


def _dates(column: pd.Series) -> pd.Series:
    """Dates as pandas reads them, with two differences: times with several UTC offsets (a clock that changed to
    or from summer time) become UTC, which keeps their order, instead of an error; and a day-first format that
    pandas inferred from the data is used without its warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Parsing dates in .* when dayfirst=False", UserWarning)
        try:
            return pd.to_datetime(column)
        except ValueError as exc:
            if "Mixed timezones" not in str(exc):
                raise
            return pd.to_datetime(column, utc=True)


def parse_times(column: pd.Series, name: str, source: str) -> pd.Series:
    """The time column as numbers or dates (no missing values), in the table's row order."""
    if pd.api.types.is_numeric_dtype(column) and column.dtype != bool:
        values = column
    else:
        try:
            values = _dates(column)
        except (ValueError, TypeError) as exc:
            raise InputError(f"time column {name!r} in {source} holds values that are neither numbers nor dates "
                             f"({exc}); fix them (dates read best as ISO 8601: 2024-03-31 14:05:00) or choose "
                             "another --time-col") from exc
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise InputError(f"time column {name!r} in {source} has missing values (first at data row {row}); "
                         "fill or drop those rows")
    return values.reset_index(drop=True)


def _sort(times: pd.Series, unsorted: str, name: str, source: str) -> np.ndarray | None:
    """The row order that sorts ``times`` (stable: repeated times keep their order), or None when sorted."""
    back = (times < times.shift(1)).to_numpy()
    if not back.any():
        return None
    if unsorted == "raise":
        row = int(np.flatnonzero(back)[0])
        raise InputError(f"time column {name!r} in {source} is not sorted (data row {row} goes back in time); "
                         "sort the rows by time first, or pass --unsorted sort")
    order = np.argsort(times.to_numpy(), kind="stable")
    moved = int((order != np.arange(len(order))).sum())
    log.warning("%s: sorted the rows by %r, which moved %d of %d rows", source, name, moved, len(order))
    return order


def _merge(features: pd.DataFrame, labels: np.ndarray | None, times: pd.Series, duplicates: str, name: str,
           source: str) -> tuple[pd.DataFrame, np.ndarray | None, pd.Series]:
    """One row per time: rows that repeat a time (consecutive, once sorted) merged as ``duplicates`` says."""
    repeated = times.duplicated().to_numpy()
    if not repeated.any():
        return features, labels, times
    if duplicates == "raise":
        row = int(np.flatnonzero(repeated)[0])
        raise InputError(f"time column {name!r} in {source} has a duplicate time {times.iloc[row]} at data row "
                         f"{row}; drop or aggregate duplicate rows, or pass --duplicate-times first, last or mean")
    involved = int(times.duplicated(keep=False).sum())
    if duplicates == "mean":  # the features' mean; a time is anomalous when any of its rows is labelled so
        group = np.cumsum(~repeated) - 1  # (T,) the index of each row's time
        features = features.groupby(group).mean().reset_index(drop=True)
        if labels is not None:
            labels = pd.Series(labels).groupby(group).max().to_numpy().astype(np.int8)
        keep = ~repeated
    else:  # the first or last row of each time, whole (its label included)
        keep = ~times.duplicated(keep=duplicates).to_numpy()
        features = features[keep].reset_index(drop=True)
        labels = None if labels is None else labels[keep]
    times = times[keep].reset_index(drop=True)
    log.warning("%s: %d rows share their time in %r with another row; kept %s of each time (%d rows removed)",
                source, involved, name, {"first": "the first", "last": "the last", "mean": "the mean"}[duplicates],
                int(repeated.sum()))
    return features, labels, times


def order_rows(features: pd.DataFrame, labels: np.ndarray | None, times: pd.Series, name: str, source: str,
               duplicates: str = "raise", unsorted: str = "raise") -> tuple[pd.DataFrame, np.ndarray | None, pd.Index]:
    """``(features, labels, time index)`` with strictly increasing times, after the remedies asked for."""
    order = _sort(times, unsorted, name, source)
    if order is not None:
        features = features.iloc[order].reset_index(drop=True)
        labels = None if labels is None else labels[order]
        times = times.iloc[order].reset_index(drop=True)
    features, labels, times = _merge(features, labels, times, duplicates, name, source)
    return features, labels, pd.Index(times, name=name)

"""Min/max decimation and run-length bands: how a series of any length becomes a few thousand points to draw.

A chart cannot show more points than it has pixels, and a page that carries ten million rows is neither small nor
fast. :func:`minmax` cuts a series into at most :data:`BUCKETS` buckets of consecutive rows and keeps each bucket's
minimum and maximum, in the order they occur, so every peak and every dip survives (block means would flatten a
one-row spike). Regions (flagged, labelled, the training rows) travel as run-length ``(start, end)`` lists, never
as one value per row, and turn into x-axis spans with :func:`bands`.
"""

from __future__ import annotations

import math

import numpy as np

BUCKETS = 4_000  # buckets per series: 8,000 points at most (a bucket's min and max)
CHUNK_ROWS = 1 << 20  # rows decimated at a time
MAX_BANDS = 4_000  # more regions than this are merged across gaps no wider than a bucket (they look alike drawn)


def bucket_size(length: int, buckets: int = BUCKETS) -> int:
    """Rows per bucket: 1 (no decimation) for ``length <= buckets``."""
    return max(1, math.ceil(length / buckets))


def bucket_rows(length: int, size: int) -> np.ndarray:
    """The row each decimated point sits at: every row when ``size == 1``, else each bucket's first and last row
    (two points per bucket, matching :func:`minmax`), so the drawn x range runs from the first row to the last."""
    if size == 1:
        return np.arange(length)
    starts = np.arange(0, length, size)
    return np.column_stack([starts, np.minimum(starts + size, length) - 1]).ravel()


def minmax(values, size: int) -> np.ndarray:
    """``values`` ``(T,)`` as two points per bucket of ``size`` rows: its minimum and maximum in the order they
    occur (NaN ignored; a bucket of NaN gives NaN). ``size == 1`` returns the values as float64. Works through
    about a million rows at a time, so ten million rows cost little memory beyond their own."""
    values = np.asarray(values)
    if size == 1:
        return values.astype(np.float64)
    step = size * max(1, CHUNK_ROWS // size)  # whole buckets per chunk: the same buckets as in one pass
    return np.concatenate([_minmax(values[i:i + step], size) for i in range(0, len(values), step)])


def _minmax(values: np.ndarray, size: int) -> np.ndarray:
    values = values.astype(np.float64)
    count = math.ceil(len(values) / size)
    padded = np.concatenate([values, np.full(count * size - len(values), np.nan)]).reshape(count, size)
    missing = np.isnan(padded)
    low_source, high_source = np.where(missing, np.inf, padded), np.where(missing, -np.inf, padded)
    at_low, at_high = low_source.argmin(axis=1), high_source.argmax(axis=1)
    rows = np.arange(count)
    low, high = low_source[rows, at_low], high_source[rows, at_high]
    empty = missing.all(axis=1)
    low[empty] = high[empty] = np.nan
    low_first = at_low <= at_high
    return np.column_stack([np.where(low_first, low, high), np.where(low_first, high, low)]).ravel()


def runs(flags) -> np.ndarray:
    """Half-open ``(start, end)`` runs of non-zero values, ``(K, 2)`` int64 (vectorised: fine for 10M rows)."""
    flags = np.concatenate(([0], (np.asarray(flags) != 0).astype(np.int8), [0]))
    return np.flatnonzero(np.diff(flags)).reshape(-1, 2).astype(np.int64)


def merge_runs(spans: np.ndarray, gap: int) -> np.ndarray:
    """``spans`` ``(K, 2)`` with every gap of at most ``gap`` rows closed."""
    if len(spans) < 2:
        return spans
    keep = spans[1:, 0] - spans[:-1, 1] > gap
    return np.column_stack([np.concatenate([spans[:1, 0], spans[1:, 0][keep]]),
                            np.concatenate([spans[:-1, 1][keep], spans[-1:, 1]])])


def axis_values(time, length: int) -> tuple[np.ndarray, str]:
    """The x position of every row and what it is: ``("time")`` seconds since 1970 of a datetime index (time zones
    dropped: the wall-clock time the file shows), ``("numbers")`` a numeric index, or ``("rows")`` row numbers —
    also when the index has gaps (NaT, NaN) or runs backwards, which a chart's x axis cannot draw."""
    rows = np.arange(length, dtype=np.float64), "rows"
    if time is None:
        return rows
    values = np.asarray(time)
    if len(values) != length:
        raise ValueError(f"the time index has {len(values)} values for {length} rows")
    if values.dtype.kind in "iuf":
        axis, kind = values.astype(np.float64), "numbers"
    else:
        import pandas as pd

        stamps = pd.DatetimeIndex(time)
        if stamps.tz is not None:
            stamps = stamps.tz_localize(None)
        axis, kind = stamps.as_unit("ns").asi8.astype(np.float64) / 1e9, "time"
        axis[np.asarray(stamps.isna())] = np.nan
    if not np.isfinite(axis).all() or np.any(np.diff(axis) < 0):
        return rows
    return axis, kind


def x_at(axis: np.ndarray, rows) -> np.ndarray:
    """The x position of ``rows`` (a row equal to ``len(axis)``, the end of the last run, lies one step past the
    last row)."""
    rows = np.asarray(rows, dtype=np.int64)
    step = float(axis[-1] - axis[-2]) if len(axis) > 1 else 1.0
    inside = axis[np.minimum(rows, len(axis) - 1)]
    return np.where(rows >= len(axis), axis[-1] + step, inside)


def bands(spans, axis: np.ndarray, size: int, limit: int = MAX_BANDS) -> tuple[np.ndarray, int]:
    """Row spans ``(K, 2)`` as x-axis spans ``(K', 2)``, and the gap (in rows) closed to keep ``K' <= limit``
    (0 when none was)."""
    spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    gap = 0
    while len(spans) > limit:
        gap = max(size, 2 * gap)
        spans = merge_runs(spans, gap)
    if len(spans) == 0:
        return np.zeros((0, 2)), gap
    return np.column_stack([x_at(axis, spans[:, 0]), x_at(axis, spans[:, 1])]), gap

"""Turn user input into checked float32 arrays, or raise one clear :class:`InputError`."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from reconad.errors import InputError


def as_series(X, what: str = "X") -> tuple[np.ndarray, list[str] | None]:
    """A series as a float32 array ``(T, D)`` and its column names (for DataFrame input).

    Accepts ``(T,)`` and ``(T, D)`` arrays, lists, pandas Series and DataFrames of numeric columns.
    """
    names = None
    if isinstance(X, pd.Series):
        X = X.to_frame()
    if isinstance(X, pd.DataFrame):
        complex_columns = [str(c) for c in X.columns if pd.api.types.is_complex_dtype(X[c])]
        if complex_columns:
            raise InputError(complex_message(f"{what}'s columns {complex_columns}"))
        names = column_names(X.columns, what)
        bad = non_numeric(X)
        if bad:
            raise InputError(
                f"{what} has non-numeric columns {bad}{boolean_hint(X)}; drop them or select the numeric "
                "sensor columns"
            )
        X = X.to_numpy(dtype=np.float64)
    array = _numeric_array(X, what)
    if array.ndim == 1:
        array = array[:, None]
    elif array.ndim != 2:
        raise InputError(
            f"{what} must be a series of shape (T,) or (T, D) (one row per time step), got shape {array.shape}; "
            "for images use ImageDetector"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(f"{what} is empty (shape {array.shape}); pass at least one window of data")
    if array.dtype.kind == "f":
        _check_finite(array, what)
        limit = np.finfo(np.float32).max
        if array.max() > limit or array.min() < -limit:
            raise InputError(
                f"{what} holds values beyond float32's range (|x| > 3.4e38); rescale the data (e.g. to other units)"
            )
    return array.astype(np.float32, copy=False), names


def _numeric_array(X, what: str) -> np.ndarray:
    """``X`` as a numpy array of real numbers (a numpy array of numbers as it is, no copy), else one InputError."""
    def converted(value, dtype=None) -> np.ndarray:
        try:
            return np.asarray(value, dtype=dtype)
        except (TypeError, ValueError) as exc:  # ragged rows, objects that are not numbers
            raise InputError(f"{what} must be numeric (an array of numbers); could not convert it: {exc}") from exc

    array = converted(X)
    if array.dtype.kind == "c":
        raise InputError(complex_message(what))
    if array.dtype.kind in "USb":  # numpy would read "1.5" as 1.5 and True as 1; scikit-learn refuses them too
        held = ("True/False; to use it as a sensor, write it as 0/1" if array.dtype.kind == "b"
                else "text; convert it to numbers first")
        raise InputError(f"{what} must be numeric but holds {held} (e.g. np.asarray(x, dtype=float))")
    return array if array.dtype.kind in "fiu" else converted(array, np.float64)  # objects: None becomes NaN


def column_names(columns, what: str) -> list[str]:
    """Column labels as strings, refusing two columns that share one (``frame[name]`` would read both, and a
    saved model could not tell them apart)."""
    names = [str(c) for c in columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"{what} has several columns named {repeated}; rename them so that each column has its "
                         "own name")
    return names


def non_numeric(frame: pd.DataFrame) -> list[str]:
    """The names of ``frame``'s columns that are not numbers (booleans included: a state or a label, not a
    measurement, unless the caller converts it); the names must be unique (:func:`column_names`)."""
    types = pd.api.types
    return [str(c) for c, dtype in frame.dtypes.items()
            if not types.is_numeric_dtype(dtype) or types.is_bool_dtype(dtype)]


def boolean_hint(frame: pd.DataFrame) -> str:
    """A note for the non-numeric error when some of ``frame``'s columns are True/False (:func:`non_numeric`
    counts them)."""
    flags = [str(c) for c, dtype in frame.dtypes.items() if pd.api.types.is_bool_dtype(dtype)]
    return f" ({flags} hold True/False; write them as 0/1 to use them as sensors)" if flags else ""


def complex_message(what: str) -> str:
    """The error for complex input, which numpy would otherwise cast to real, dropping the imaginary part."""
    return (f"{what} holds complex numbers; pass real values (for example the magnitude, np.abs(x), or the real "
            "and imaginary parts as separate features)")


def _check_finite(array: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(array)
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=tuple(range(1, array.ndim))))[0])
        raise InputError(
            f"{what} contains {int(bad.sum())} NaN or infinite values (first at row {row}); "
            "drop or interpolate them before fitting or scoring"
        )


def as_labels(y, length: int, what: str = "labels") -> np.ndarray:
    """0/1 labels ``(T,)`` matching a series of ``length`` steps."""
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.shape[0] != length:
        raise InputError(f"{what} must have one value per step ({length}), got shape {labels.shape}")
    if not np.isin(labels, (0, 1)).all():
        raise InputError(f"{what} must contain only 0 (normal) and 1 (anomaly)")
    return labels.astype(np.int8)


def check_int(name: str, value, minimum: int = 1, allow_none: bool = False, maximum: int | None = None) -> None:
    """``value`` is a whole number in ``[minimum, maximum]`` (or None with ``allow_none``), else an InputError."""
    if value is None and allow_none:
        return
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise InputError(f"{name} must be at most {maximum:,} (a saved model could not be loaded back), got "
                         f"{value!r}")

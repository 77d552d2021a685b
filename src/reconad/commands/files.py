"""Inputs and outputs of the ``reconad`` commands: output paths checked before any long work, atomic writes,
tables read with the command's options, and saved detectors loaded."""

from __future__ import annotations

import argparse
import io
import json
import os
from pathlib import Path

from reconad.errors import InputError


def check_output(path: str, suffixes: tuple[str, ...] | None = None, what: str = "output") -> Path:
    """Refuse an output path that cannot be written *before* any long work starts."""
    path = Path(path)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise InputError(f"{what} {path} must end in one of {', '.join(suffixes)} (the format follows the suffix)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: folder {folder} does not exist; create it first")
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder; pass a file name")
    if not os.access(folder, os.W_OK):
        raise InputError(f"cannot write {path}: folder {folder} is not writable; choose another location")
    return path


def check_input(path: str, what: str = "data file") -> Path:
    """An input path that exists, or an InputError naming it."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} {path} does not exist; check the path")
    return path


def check_distinct(outputs: dict[str, Path | None], inputs: dict[str, Path | None]) -> None:
    """Refuse an output that is also an input or another output (``--out X --regions X``, ``--out DATA``)."""
    seen: dict[str, str] = {}
    for option, path in [*inputs.items(), *outputs.items()]:
        if path is None:
            continue
        key = os.path.realpath(path)
        if key in seen:
            raise InputError(f"{option} {path} is the same file as {seen[key]}; writing it would destroy that one, so "
                             f"pass {option} a new file name")
        seen[key] = f"{option} {path}" if option.startswith("-") else f"the {option}"


def frame_bytes(frame, path: Path) -> bytes:
    """A DataFrame as the bytes of a CSV or Parquet file (by ``path``'s suffix)."""
    if path.suffix.lower() == ".csv":
        return frame.to_csv(index=False).encode("utf-8")
    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer, index=False)
    except ImportError as exc:
        raise InputError(f"writing {path} needs a Parquet engine; pip install pyarrow, or write .csv") from exc
    return buffer.getvalue()


def write_frame(frame, path: Path) -> None:
    """A DataFrame as CSV or Parquet (by the suffix), written atomically."""
    write_frames([(frame, path)])


def write_frames(items: list) -> None:
    """``(frame, path)`` pairs written as one unit (:func:`reconad.atomic.atomic_write_many`): all new or all
    old; when the first file exists, the others are from the same run."""
    from reconad.atomic import atomic_write_many

    atomic_write_many([(path, frame_bytes(frame, path)) for frame, path in items])


def write_json(value: dict, path: Path) -> None:
    """``value`` as indented JSON (numpy scalars as numbers), written atomically."""
    from reconad.atomic import atomic_write_bytes

    def default(item):
        return item.item() if hasattr(item, "item") else str(item)

    atomic_write_bytes(path, (json.dumps(value, indent=2, default=default) + "\n").encode())


def columns(text: str | None) -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; None stays None."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def classes(text: str | None) -> list[int] | None:
    """``--normal 0,1`` -> ``[0, 1]``; None stays None."""
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise InputError(f"--normal takes comma-separated class numbers, got {text!r}") from exc


def row_range(text: str) -> tuple[int | None, int | None]:
    """``START:END`` (0-based, END excluded, either may be empty) as slice bounds."""
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError(text)
        return tuple(int(p) if p.strip() else None for p in parts)  # type: ignore[return-value]
    except ValueError as exc:
        raise InputError(f"--rows takes START:END (0-based, END excluded, e.g. :400 or 100:900), got {text!r}") \
            from exc


def read_series(args: argparse.Namespace, names=None, label_col=None):
    """The table ``args.data`` read with the table options (``--sep``, ``--time-col``, ``--nan``, ``--drop``,
    ``--duplicate-times``, ``--unsorted``, ``--rows``): a :class:`reconad.data.tables.Table`."""
    return read_series_rows(args, names, label_col)[0]


def read_series_rows(args: argparse.Namespace, names=None, label_col=None):
    """:func:`read_series` and the half-open ``(start, end)`` rows of the whole table that ``--rows`` selected."""
    from reconad.data.tables import read_table

    remedies = [f"--{name.replace('_', '-')}" for name in ("duplicate_times", "unsorted")
                if getattr(args, name) != "raise"]
    if remedies and args.time_col is None:
        raise InputError(f"{' and '.join(remedies)} order the rows by their time; name the time column with --time-col")
    table = read_table(args.data, sep=args.sep, time_col=args.time_col, columns=names, label_col=label_col,
                       nan_policy=args.nan, drop=columns(args.drop) or (), duplicates=args.duplicate_times,
                       unsorted=args.unsorted)
    rows = getattr(args, "rows", None)
    if rows is None:
        return table, (0, len(table.features))
    bounds = row_range(rows)
    total = len(table.features)
    if any(bound is not None and not -total <= bound <= total for bound in bounds):
        raise InputError(f"--rows {rows} reaches past the end of {args.data}, which has {total:,} rows; pass "
                         f"bounds within 0:{total}")
    selected = slice(*bounds)
    features = table.features.iloc[selected].reset_index(drop=True)
    if len(features) == 0:
        raise InputError(f"--rows {rows} selects no rows of {args.data} ({len(table.features)} rows)")
    labels = None if table.labels is None else table.labels[selected]
    start, end, _ = selected.indices(total)
    return type(table)(features, labels, None if table.time is None else table.time[selected]), (start, end)


def model_columns(det, args: argparse.Namespace) -> list[str] | None:
    """The feature columns to score: ``--columns``, else the columns the model was fitted on."""
    if args.columns is not None:
        return columns(args.columns)
    names = getattr(det, "feature_names_in_", None)
    if not names:
        return None
    from reconad.data.tables import load_frame

    present = [str(c) for c in load_frame(args.data, args.sep).columns]
    missing = [name for name in names if name not in present]
    if missing:
        raise InputError(f"{args.data} lacks the columns {missing} that the model was fitted on ({len(names)} "
                         f"features: {names}); its columns are {present}; pass data with the same "
                         "columns")
    return list(names)


def data_info(args: argparse.Namespace, table, fingerprint: str | None) -> dict:
    """The data section of a series report: name, file, shape, columns, time span, labels, fingerprint."""
    from reconad.report.sections import time_span

    features = table.features
    info = {"name": Path(args.data).name, "file": str(Path(args.data).resolve()),
            "shape (rows × features)": f"{features.shape[0]:,} × {features.shape[1]}",
            "feature columns": ", ".join(map(str, features.columns)),
            "time span": time_span(table.time, len(features))}
    if table.labels is not None:
        info["labelled anomalies"] = f"{int(table.labels.sum()):,} rows ({table.labels.mean():.1%})"
    info["fingerprint (sha256 of the file)"] = fingerprint
    return info


def load_detector(path: str, quiet: bool = False):
    """A saved detector (this imports torch), with its progress bars off when ``quiet``."""
    check_input(path, "model file")
    from reconad.detectors import load

    det = load(path)
    det.set_params(verbose=not quiet)
    return det


def is_image_detector(det) -> bool:
    """Whether ``det`` is an ImageDetector (the kind decides how its data is read)."""
    from reconad.detectors import ImageDetector

    return isinstance(det, ImageDetector)

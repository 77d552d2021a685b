"""SKAB (Skoltech Anomaly Benchmark): multivariate recordings of a water-pump test bed.

Files are ``;``-separated with a ``datetime`` column, eight sensor columns and, except the anomaly-free
recording, ``anomaly`` and ``changepoint`` label columns (``0.0`` / ``1.0``). Nothing is downloaded: the data
is looked up under ``root`` (default: ``$RECONAD_DATA/skab``, else ``<repo>/../shared/data/skab``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from reconad.data.nab import data_root
from reconad.data.tables import read_table
from reconad.errors import InputError

LABEL_COLUMNS = ("anomaly", "changepoint")
TRAIN_ROWS = 400  # SKAB's own split: the first 400 rows of every file are normal and train the detector


class SkabFile(NamedTuple):
    """One SKAB recording: its key (``"valve1/0.csv"``), sensors ``(T, 8)``, labels, change points, times."""

    name: str
    features: pd.DataFrame  # (T, 8) the sensor columns
    labels: np.ndarray | None  # (T,) int8 ``anomaly``; None for the anomaly-free recording
    changepoints: np.ndarray | None  # (T,) int8 ``changepoint``; None for the anomaly-free recording
    time: pd.DatetimeIndex  # (T,)


def _skab_root(root) -> Path:
    path = data_root(root)
    if (path / "skab").is_dir() and not (path / "valve1").is_dir():
        path = path / "skab"
    if not (path / "valve1").is_dir():
        raise InputError(f"no SKAB data at {path} (valve1/ is missing); set RECONAD_DATA to the folder holding skab/")
    return path


def _natural(name: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def skab_files(root: str | os.PathLike | None = None) -> list[str]:
    """The keys of the 34 labelled recordings (``valve1/0.csv``, ...), folders and numbers in natural order."""
    base = _skab_root(root)
    keys = [p.relative_to(base).as_posix() for p in base.glob("*/*.csv") if p.parent.name != "anomaly-free"]
    return sorted(keys, key=_natural)


def load_skab_file(name: str, root: str | os.PathLike | None = None) -> SkabFile:
    """One recording by its key, e.g. ``load_skab_file("valve1/0.csv")`` or ``"anomaly-free/anomaly-free.csv"``."""
    base = _skab_root(root)
    path = base / name
    if not path.is_file():
        raise InputError(f"{name!r} is not a SKAB file under {base}")
    if name.startswith("anomaly-free"):
        features, _, time = read_table(path, sep=";", time_col="datetime")
        return SkabFile(name, features, None, None, time)
    features, labels, time = read_table(path, sep=";", time_col="datetime", label_col="anomaly", drop=["changepoint"])
    changepoints, _, _ = read_table(path, sep=";", columns=["changepoint"], drop=["datetime"])
    return SkabFile(name, features, labels, changepoints["changepoint"].to_numpy().astype(np.int8), time)


def load_skab(root: str | os.PathLike | None = None) -> list[SkabFile]:
    """Every labelled recording (34 files), in :func:`skab_files` order."""
    base = _skab_root(root)
    return [load_skab_file(name, base) for name in skab_files(base)]


def load_skab_anomaly_free(root: str | os.PathLike | None = None) -> SkabFile:
    """The anomaly-free recording (9405 rows, no label columns)."""
    return load_skab_file("anomaly-free/anomaly-free.csv", root)

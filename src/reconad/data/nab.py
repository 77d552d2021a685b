"""NAB (Numenta Anomaly Benchmark): univariate series with labelled anomaly windows.

Each series is ``data/<category>/<file>.csv`` (``timestamp,value``); ``labels/combined_windows.json`` maps
``"<category>/<file>.csv"`` to ``[[start, end], ...]``. A row is anomalous (1) when its timestamp lies inside a
window, *both bounds included*. Nothing is downloaded: the corpus is looked up under ``root`` (default:
``$RECONAD_DATA/nab``, else ``<repo>/../shared/data/nab``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from reconad.data.tables import read_table
from reconad.errors import InputError


class NabSeries(NamedTuple):
    """One NAB series: its key (``"realTraffic/speed_7578.csv"``), values ``(T,)``, labels ``(T,)`` 0/1, times."""

    name: str
    values: np.ndarray  # (T,) float32
    labels: np.ndarray  # (T,) int8, 1 inside a label window (bounds inclusive)
    time: pd.DatetimeIndex  # (T,)
    windows: list[tuple[pd.Timestamp, pd.Timestamp]]


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder holding the datasets: ``root``, else ``$RECONAD_DATA``, else ``<repo>/../shared/data``."""
    if root is not None:
        return Path(root)
    if os.environ.get("RECONAD_DATA"):
        return Path(os.environ["RECONAD_DATA"])
    return Path(__file__).resolve().parents[3].parent / "shared" / "data"


def _nab_root(root) -> Path:
    path = data_root(root)
    if (path / "nab").is_dir() and not (path / "labels").is_dir():
        path = path / "nab"
    if not (path / "labels" / "combined_windows.json").is_file():
        raise InputError(
            f"no NAB corpus at {path} (labels/combined_windows.json is missing); set RECONAD_DATA to the folder "
            "holding nab/ or pass root="
        )
    return path


def read_windows(root: str | os.PathLike | None = None) -> dict[str, list[tuple[pd.Timestamp, pd.Timestamp]]]:
    """``labels/combined_windows.json`` as ``{key: [(start, end), ...]}`` with parsed timestamps."""
    path = _nab_root(root) / "labels" / "combined_windows.json"
    raw = json.loads(path.read_text())
    # bounds carry microseconds ("2014-04-10 07:15:00.000000"); the data's timestamps are whole seconds
    return {key: [(pd.Timestamp(a[:19]), pd.Timestamp(b[:19])) for a, b in spans] for key, spans in raw.items()}


def window_labels(time: pd.DatetimeIndex, windows) -> np.ndarray:
    """0/1 per timestamp: 1 when it lies in any ``(start, end)`` window, both bounds included."""
    labels = np.zeros(len(time), dtype=np.int8)
    values = np.asarray(time)
    for start, end in windows:
        labels[(values >= np.datetime64(start)) & (values <= np.datetime64(end))] = 1
    return labels


def load_nab_series(name: str, root: str | os.PathLike | None = None, windows: dict | None = None) -> NabSeries:
    """One series by its key, e.g. ``load_nab_series("realTraffic/speed_7578.csv")``."""
    base = _nab_root(root)
    windows = read_windows(base) if windows is None else windows
    if name not in windows:
        raise InputError(f"{name!r} is not a NAB series in {base}/labels/combined_windows.json")
    path = base / "data" / name
    # read_table refuses repeated times, but NAB keeps some (a clock change: ec2_disk_write_bytes_1ef3de.csv
    # repeats 2014-03-09 03:00:00); the benchmark scores every row as it is, so read the file as is, checked
    frame = pd.read_csv(path)
    if list(frame.columns) != ["timestamp", "value"] or frame.empty:
        raise InputError(f"{path} is not a NAB series: expected a header timestamp,value and data rows")
    features, _, _ = read_table(frame[["value"]])  # numeric, finite
    time = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], format="%Y-%m-%d %H:%M:%S"))
    values = features["value"].to_numpy(dtype=np.float32)
    return NabSeries(name, values, window_labels(time, windows[name]), time, windows[name])


def load_nab(root: str | os.PathLike | None = None) -> list[NabSeries]:
    """Every NAB series that the label file lists, in its order."""
    base = _nab_root(root)
    windows = read_windows(base)
    return [load_nab_series(name, base, windows) for name in windows]


def probation(n_rows: int) -> int:
    """NAB's probationary period as the benchmark uses it for training: ``min(floor(0.15 * n), 750)`` rows."""
    return min(int(np.floor(0.15 * n_rows)), 750)

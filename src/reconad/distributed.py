"""Score a series stored as Parquet partitions on Dask, with the same result as one process (extra ``[dask]``).

The folder's ``*.parquet`` files, in natural name order (``part.2`` before ``part.10``), are one series. Each
partition becomes one task that reads its own rows plus the context its windows need from its neighbours (only
the row groups that hold them, however many partitions away), and scores with ``det.scorer_.score_range``
(:class:`~reconad.scoring.SeriesScorer`): the same global window starts, the same model batches, the same folding and
smoothing as ``anomaly_score`` on the whole series, so the scores are bit-identical. Each task writes its
partition of the output (``step``, ``score``, ``label``) itself; memory per task is one partition plus context.

Workers need the model and the data: the model travels as the bytes of its safetensors file (never a pickle of
the detector); the data and output folders must be visible to every worker (a shared file system on a cluster).
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import logging
import os
import re
import shutil
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reconad.atomic import PARTIAL
from reconad.errors import InputError

_INSTALL = "install the extra: pip install 'reconad[dask]'"


@dataclass(frozen=True)
class Partition:
    path: str
    start: int  # first global row
    rows: int
    row_groups: tuple[int, ...]  # rows per row group, to read only what a neighbour needs


@dataclass(frozen=True)
class ScoreSummary:
    out: str
    rows: int
    partitions: int
    flagged: int
    threshold: float


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _require_dask():
    try:
        import dask  # noqa: F401
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InputError(f"scoring with Dask needs dask and pyarrow ({exc.name} is missing); {_INSTALL}") from exc
    return pq


def list_partitions(data_dir: str | os.PathLike, columns: list[str] | None = None) -> list[Partition]:
    """The Parquet files of ``data_dir`` in natural name order, with their global row offsets."""
    pq = _require_dask()
    folder = Path(data_dir)
    if not folder.is_dir():
        raise InputError(f"data folder {folder} does not exist or is not a folder; pass a folder of Parquet files")
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in (".parquet", ".pq") and p.is_file()),
                   key=_natural_key)
    if not files:
        raise InputError(f"{folder} holds no .parquet files; write the series as Parquet partitions first")
    partitions, start = [], 0
    for path in files:
        try:
            meta = pq.ParquetFile(path).metadata
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise InputError(f"{path} is not a readable Parquet file ({exc}); rewrite or remove it") from exc
        names = set(meta.schema.names)
        missing = [c for c in columns or [] if c not in names]
        if missing:
            raise InputError(f"{path} has no columns {missing} (it has {sorted(names)}); pass --columns that exist")
        groups = tuple(meta.row_group(i).num_rows for i in range(meta.num_row_groups))
        partitions.append(Partition(str(path), start, meta.num_rows, groups))
        start += meta.num_rows
    return partitions


def _read_rows(partitions: list[Partition], lo: int, hi: int, columns: list[str]):
    """Rows ``[lo, hi)`` of the whole series as one DataFrame, reading only the row groups that hold them."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = []
    for part in partitions:
        if part.start >= hi or part.start + part.rows <= lo:
            continue
        group_start, wanted, first_row = part.start, [], None
        for index, n in enumerate(part.row_groups):
            if group_start < hi and group_start + n > lo:
                wanted.append(index)
                first_row = group_start if first_row is None else first_row
            group_start += n
        table = pq.ParquetFile(part.path).read_row_groups(wanted, columns=columns)
        table = table.cast(pa.schema([(c, pa.float64()) for c in columns]))  # int64 in one file, double in the next
        begin = max(lo, first_row) - first_row
        tables.append(table.slice(begin, min(hi, part.start + part.rows) - max(lo, first_row)))
    frame = pa.concat_tables(tables).to_pandas() if tables else pd.DataFrame(columns=columns)
    return frame.reset_index(drop=True)


_CACHE: dict[str, object] = {}
_CACHE_LOCK = threading.Lock()


def _detector_from_bytes(model_bytes: bytes):
    """The detector in a model file's bytes, loaded once per worker process."""
    key = hashlib.sha256(model_bytes).hexdigest()
    with _CACHE_LOCK:
        if key not in _CACHE:
            from reconad.detectors import load

            while len(_CACHE) >= 4:  # a long-lived worker keeps the few most recent models only
                _CACHE.pop(next(iter(_CACHE)))

            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "model.reconad"
                path.write_bytes(model_bytes)
                _CACHE[key] = load(path)
        return _CACHE[key]


def _score_partition(model_bytes: bytes, sources: list[Partition], context: tuple[int, int], start: int, rows: int,
                     total: int, columns: list[str], target: str) -> int:
    """Score rows ``[start, start + rows)`` reading rows ``context`` from ``sources``; write ``target``.

    Returns the number of flagged steps.
    """
    import pandas as pd

    det = _detector_from_bytes(model_bytes)
    target = Path(target)
    if rows == 0:
        scores = np.zeros(0, dtype=np.float64)
    else:
        frame = _read_rows(sources, *context, columns)
        _check_finite(frame, sources, context[0], columns)
        try:
            scores = det.scorer_.score_range(frame, context[0], start, start + rows, total)
        except InputError as exc:  # name the user's files, not the task's variables
            own = next(p for p in sources if p.start <= start < p.start + max(p.rows, 1))
            raise InputError(f"{own.path} (rows {start:,} to {start + rows - 1:,} of the series): {exc}") from None
    labels = det.threshold_.predict(scores)
    frame = pd.DataFrame({"step": np.arange(start, start + rows, dtype=np.int64),
                          "score": scores, "label": labels.astype(np.int8)})
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, target)
    return int(labels.sum())


def _check_finite(frame, sources: list[Partition], first: int, columns: list[str]) -> None:
    """Refuse a missing or infinite value with the file, its row and the column it is in."""
    values = frame.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    row, col = (int(i[0]) for i in np.nonzero(bad))
    step = first + row
    part = next(p for p in sources if p.start <= step < p.start + p.rows)
    value = "NaN (a missing value)" if np.isnan(values[row, col]) else f"{values[row, col]:+}"
    raise InputError(f"{part.path} has {value} in column {columns[col]!r} at its row {step - part.start:,} "
                     f"(row {step:,} of the series); fill or drop the missing values and score again")


def check_column_types(partitions: list[Partition], columns: list[str]) -> None:
    """Every feature column of every file holds numbers (int64 in one file and double in the next is fine)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for part in partitions:
        schema = pq.ParquetFile(part.path).schema_arrow
        for name in columns:
            kind = schema.field(name).type
            if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)):
                raise InputError(f"{part.path} column {name!r} holds {kind} values, not numbers; every partition's "
                                 "feature columns must be numeric (write them as int or float)")


def _model_bytes(model) -> tuple[bytes, object]:
    from reconad.detectors import SeriesDetector, load

    if isinstance(model, SeriesDetector):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model.reconad"
            model.save(path)  # raises NotFittedError on an unfitted detector
            data = path.read_bytes()
    else:
        if not isinstance(model, (str, os.PathLike)):
            raise InputError(f"model must be a fitted SeriesDetector or the path of a saved one, got {type(model)}")
        load(model)  # refuses a missing or invalid file with a clear error, here rather than on every worker
        data = Path(model).read_bytes()
    det = _detector_from_bytes(data)
    if not isinstance(det, SeriesDetector):
        raise InputError(f"{model} holds a {type(det).__name__}; Dask scoring is for SeriesDetector models")
    return data, det


def score_parquet(model, data_dir, out_dir, *, workers: int | None = None, scheduler=None,
                  columns: list[str] | None = None, processes: bool = True) -> ScoreSummary:
    """Score the Parquet partitions of ``data_dir`` as one series and write ``out_dir`` (``step, score, label``).

    ``model``: a fitted :class:`~reconad.SeriesDetector` or the path of a saved one. ``columns``: the feature
    columns (default: the detector's feature names if it was fitted on a DataFrame, else every column).
    ``workers=N`` starts a local Dask cluster of N workers (``processes=False`` keeps them in this process);
    ``scheduler`` is the address of a running Dask scheduler (``tcp://host:8786``) or a
    ``distributed.Client``; with neither, Dask's local threaded scheduler runs the tasks. The output has one
    row per input row in the same order, one file per input partition, and equals ``det.anomaly_score`` /
    ``det.predict`` on the concatenated series exactly. It is written to a temporary folder beside
    ``out_dir`` and renamed into place, so a failure leaves no half-written output.
    """
    _require_dask()
    if workers is not None and scheduler is not None:
        raise InputError("pass either workers (a local cluster) or scheduler (an existing one), not both")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise InputError(f"workers must be a whole number >= 1, got {workers!r}")
    model_bytes, det = _model_bytes(model)
    if columns is None:
        columns = list(det.feature_names_in_) if det.feature_names_in_ is not None else None
    partitions = list_partitions(data_dir, columns)
    if columns is None:
        import pyarrow.parquet as pq

        columns = list(pq.ParquetFile(partitions[0].path).schema_arrow.names)
    if len(columns) != det.n_features_in_:
        raise InputError(
            f"the data has {len(columns)} feature columns {columns} but the detector was fitted on "
            f"{det.n_features_in_}; pass columns=[...] (--columns) naming the {det.n_features_in_} feature columns"
        )
    check_column_types(partitions, columns)
    total = sum(p.rows for p in partitions)
    if total < det.window_:
        raise InputError(f"the data has {total} rows, fewer than one window ({det.window_}); pass a longer series")

    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"output {out} already exists and is not empty; choose a new folder or remove it")
    if not out.parent.is_dir():
        raise InputError(f"cannot write {out}: folder {out.parent} does not exist; create it first")
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.{os.getpid()}.", suffix=PARTIAL, dir=out.parent))
    try:
        args, firsts = [], [p.start for p in partitions]
        for i, part in enumerate(partitions):  # each task gets only the partitions its context touches
            lo, hi = det.scorer_.rows_needed(part.start, part.start + part.rows, total) if part.rows else (0, 0)
            near = partitions[max(0, bisect.bisect_right(firsts, lo) - 1) : bisect.bisect_left(firsts, hi)]
            sources = [p for p in near if p.start < hi and p.start + p.rows > lo]
            target = str(staging / f"part-{i:05d}.parquet")
            args.append((sources, (lo, hi), part.start, part.rows, total, columns, target))
        flagged = _run(model_bytes, args, workers, scheduler, processes)
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ScoreSummary(str(out), total, len(partitions), int(sum(flagged)), float(det.threshold_))


def _run(model_bytes: bytes, args: list[tuple], workers, scheduler, processes: bool) -> list[int]:
    if workers is None and scheduler is None:
        import dask

        tasks = [dask.delayed(_score_partition)(model_bytes, *a) for a in args]
        return list(dask.compute(*tasks, scheduler="threads"))
    from distributed import Client, LocalCluster

    if scheduler is not None and not isinstance(scheduler, str):
        return _on_client(scheduler, model_bytes, args)  # a Client the caller manages
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); start it with "
                             "`dask scheduler` or check the address") from exc
        with client:
            return _on_client(client, model_bytes, args)
    # loopback only: an unauthenticated dashboard on 0.0.0.0 (Dask's default, also for dashboard_address=None)
    # would expose the job to the network; in-process workers take no host (their transport is inproc://)
    loopback = {"host": "127.0.0.1"} if processes else {}
    with _quiet("distributed"), LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                                             dashboard_address="127.0.0.1:0", worker_dashboard_address="127.0.0.1:0",
                                             **loopback) as cluster, Client(cluster) as client:
        return _on_client(client, model_bytes, args)


@contextlib.contextmanager
def _quiet(name: str, level: int = logging.WARNING):
    """Raise a logger's level while a local cluster starts and stops (its INFO lines are not the user's news)."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(max(level, before))
    try:
        yield
    finally:
        logger.setLevel(before)


def _on_client(client, model_bytes: bytes, args: list[tuple]) -> list[int]:
    model = client.scatter(model_bytes, broadcast=True)
    futures = [client.submit(_score_partition, model, *a, key=f"reconad-score-{i}-{uuid.uuid4().hex[:8]}")
               for i, a in enumerate(args)]
    return client.gather(futures)

"""The ``reconad`` command: ``fit``, ``score``, ``evaluate`` on your own files, and ``demo`` on embedded data.

Exit codes: 0 success, 1 failure, 2 bad input (one line on stderr, no traceback). Every output (model,
scores, regions, report, JSON) is written to a temporary file and renamed into place, so a failure never
leaves a half-written file. Each subcommand is one ``_add_<name>(commands)`` function that registers its
options and one ``_<name>(args)`` handler.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
import time
from pathlib import Path

from reconad.errors import InputError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2

SCORE_SUFFIXES = (".csv", ".parquet", ".pq")
IMAGE_SUFFIXES = (".idx", "-ubyte", ".idx.gz", "-ubyte.gz")

# detector parameters as options: name -> (type, help); None means "the detector's (or preset's) default"
SERIES_ONLY = ("window", "stride", "score_stride", "smooth", "spread", "context", "min_scale", "drift", "scaler",
               "decoder", "fold")
PARAMS: dict[str, tuple[type, str]] = {
    "window": (int, "steps per window"),
    "stride": (int, "steps between training windows (finer when that gives fewer than 200 windows)"),
    "score_stride": (int, "steps between scoring windows (smaller = more overlap; default 1)"),
    "epochs": (int, "training epochs"),
    "batch_size": (int, "windows (or images) per mini-batch"),
    "lr": (float, "Adam learning rate"),
    "hidden_size": (int, "hidden units per layer"),
    "num_layers": (int, "layers of the encoder / decoder"),
    "latent_dim": (int, "size of the code"),
    "calibration_split": (float, "held-out fraction of the training data for the label-free threshold"),
    "smooth": (int, "moving-average width of the scores (1 = none; default: the model's, 5 for dense)"),
    "spread": (int, "widen each high score over about this many steps, keeping peaks (0 = off, the default)"),
    "context": (int, "below the threshold, rank steps by the nearness of high scores decaying over this many steps "
                "(flags unchanged; 0 = off; default 50)"),
    "min_scale": (float, "each feature's scale is at least this fraction of its mean level (0 = off, the default)"),
    "random_state": (int, "seed of everything (same seed on the CPU = same scores)"),
    "device": (str, "'auto' (CUDA when present), 'cpu', 'cuda', ..."),
    "decoder": (str, "recurrent models: 'repeat' or 'autoregressive'"),
    "fold": (str, "per-step score over covering windows: 'mean' or 'max'"),
}


def _demo(args: argparse.Namespace) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    from reconad.demo import run_demo, summary_table

    out = Path(args.out)
    metrics = run_demo(out, quick=args.quick, verbose=not args.quiet)
    print(summary_table(metrics))
    print(f"\nwrote {out}/report.html, {out}/metrics.json and figures to {out}/")
    return EXIT_OK


# ---- inputs and outputs ---------------------------------------------------------------------------------------


def _check_output(path: str, suffixes: tuple[str, ...] | None = None, what: str = "output") -> Path:
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


def _write_frame(frame, path: Path) -> None:
    from reconad.persistence import atomic_write_bytes

    if path.suffix.lower() == ".csv":
        data = frame.to_csv(index=False).encode("utf-8")
    else:
        buffer = io.BytesIO()
        try:
            frame.to_parquet(buffer, index=False)
        except ImportError as exc:
            raise InputError(f"writing {path} needs a Parquet engine; pip install pyarrow, or write .csv") from exc
        data = buffer.getvalue()
    atomic_write_bytes(path, data)


def _write_json(value: dict, path: Path) -> None:
    from reconad.persistence import atomic_write_bytes

    def default(item):
        return item.item() if hasattr(item, "item") else str(item)

    atomic_write_bytes(path, (json.dumps(value, indent=2, default=default) + "\n").encode())


def _is_image_data(path: Path) -> bool:
    """A folder (of PNG files) or an IDX file (by name or by its magic number) holds images."""
    if path.is_dir():
        return True
    if path.name.lower().endswith(IMAGE_SUFFIXES):
        return True
    if path.is_file() and path.suffix.lower() not in (".csv", ".tsv", ".txt", ".parquet", ".pq"):
        with open(path, "rb") as handle:
            head = handle.read(4)
        return len(head) == 4 and head[:3] == b"\x00\x00\x08"
    return False


def _read_images(path: Path):
    """Images ``(N, C, H, W)`` in [0, 1] and their names, from an IDX file or a folder of PNG files."""
    import numpy as np

    if not path.is_dir():
        from reconad.data.images import read_idx

        images = read_idx(path)
        if images.ndim not in (3, 4):
            raise InputError(f"{path} holds an array of shape {images.shape}, not images (N, H, W); "
                             "is it a labels file?")
        images = images.astype(np.float32) / np.float32(255)
        images = images[:, None] if images.ndim == 3 else images
        return images, [str(i) for i in range(len(images))]
    from PIL import Image, UnidentifiedImageError

    files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".png")
    if not files:
        raise InputError(f"folder {path} holds no .png files; pass a folder of PNG images or an IDX file")
    pictures = []
    for file in files:
        try:
            with Image.open(file) as picture:
                pictures.append(picture.copy())
        except (UnidentifiedImageError, OSError) as exc:
            raise InputError(f"{file} is not a readable PNG image ({exc})") from exc
    arrays = []
    for file, picture in zip(files, pictures):
        array = np.asarray(picture.convert("RGB"), dtype=np.float32) / np.float32(255)  # (H, W, 3)
        if arrays and array.shape != arrays[0].shape:
            raise InputError(f"{file} is {array.shape[1]}x{array.shape[0]} pixels but {files[0].name} is "
                             f"{arrays[0].shape[1]}x{arrays[0].shape[0]}; resize the images to one size")
        arrays.append(array)
    images = np.moveaxis(np.stack(arrays), -1, 1)  # (N, 3, H, W)
    if (images == images[:, :1]).all():  # grey images: one channel
        images = images[:, :1]
    return np.ascontiguousarray(images), [f.name for f in files]


def _read_image_labels(path: str | None, count: int, normal: list[int] | None):
    """0/1 labels (1 = anomaly) from an IDX labels file or a one-column CSV; ``normal`` maps class labels."""
    import numpy as np
    import pandas as pd

    if path is None:
        if normal is not None:  # it would otherwise be ignored, and every image used as normal
            raise InputError("--normal names the normal classes of --labels; pass the labels file too")
        return None
    file = Path(path)
    if _is_image_data(file) and not file.is_dir():
        from reconad.data.images import read_idx

        values = read_idx(file, ndim=1).astype(np.int64)
    else:
        from reconad.data.tables import load_frame

        frame = load_frame(file)
        values = pd.to_numeric(frame.iloc[:, -1], errors="coerce").to_numpy()
        if np.isnan(values).any():
            raise InputError(f"labels file {file} has non-numeric or missing values in column {frame.columns[-1]!r}")
    if len(values) != count:
        raise InputError(f"labels file {file} has {len(values)} labels but there are {count} images")
    if normal is not None:
        return (~np.isin(values, normal)).astype(np.int8)
    if not np.isin(values, (0, 1)).all():
        raise InputError(f"labels in {file} are not all 0/1; pass --normal CLASSES to say which classes are normal")
    return values.astype(np.int8)


def _read_series(args: argparse.Namespace, columns=None, label_col=None):
    from reconad.data.tables import read_table

    table = read_table(args.data, sep=args.sep, time_col=args.time_col, columns=columns, label_col=label_col,
                       nan_policy=args.nan, drop=_columns(args.drop) or ())
    rows = getattr(args, "rows", None)
    if rows is None:
        return table
    selected = slice(*_row_range(rows))
    features = table.features.iloc[selected].reset_index(drop=True)
    if len(features) == 0:
        raise InputError(f"--rows {rows} selects no rows of {args.data} ({len(table.features)} rows)")
    labels = None if table.labels is None else table.labels[selected]
    return type(table)(features, labels, None if table.time is None else table.time[selected])


def _row_range(text: str) -> tuple[int | None, int | None]:
    """``START:END`` (0-based, END excluded, either may be empty) as slice bounds."""
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError(text)
        return tuple(int(p) if p.strip() else None for p in parts)  # type: ignore[return-value]
    except ValueError as exc:
        raise InputError(f"--rows takes START:END (0-based, END excluded, e.g. :400 or 100:900), got {text!r}") \
            from exc


def _columns(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _model_columns(det, args: argparse.Namespace) -> list[str] | None:
    """The feature columns to score: ``--columns``, else the columns the model was fitted on."""
    if args.columns is not None:
        return _columns(args.columns)
    names = getattr(det, "feature_names_in_", None)
    if not names:
        return None
    from reconad.data.tables import load_frame

    present = set(str(c) for c in load_frame(args.data, args.sep).columns)
    missing = [name for name in names if name not in present]
    if missing:
        raise InputError(f"{args.data} lacks the columns {missing} that the model was fitted on ({len(names)} "
                         f"features: {names}); pass data with the same columns")
    return list(names)


def _data_info(args: argparse.Namespace, table, fingerprint: str) -> dict:
    from reconad.report import time_span

    features = table.features
    info = {"name": Path(args.data).name, "file": str(Path(args.data).resolve()),
            "shape (rows × features)": f"{features.shape[0]:,} × {features.shape[1]}",
            "feature columns": ", ".join(features.columns),
            "time span": time_span(table.time, len(features))}
    if table.labels is not None:
        info["labelled anomalies"] = f"{int(table.labels.sum()):,} rows ({table.labels.mean():.1%})"
    info["fingerprint (sha256 of the file)"] = fingerprint
    return info


def _load(path: str):
    from reconad.detector import load

    return load(path)


# ---- fit -------------------------------------------------------------------------------------------------------


def _check_kind_options(args: argparse.Namespace, images: bool, table_only: tuple[str, ...],
                        image_only: tuple[str, ...]) -> None:
    """Refuse options that do not apply to the kind of data given, rather than ignore them."""
    wrong = image_only if not images else table_only
    given = ["--" + name.replace("_", "-") for name in wrong if getattr(args, name, None) is not None]
    if given:
        kind, other = ("images", "tables (CSV / Parquet)") if images else ("a table", "images")
        verb = "applies" if len(given) == 1 else "apply"
        hint = ""
        if "--labels" in given and args.command == "fit":  # fit reads a table's labels with --label-col
            hint = f"; a table's 0/1 label column is --label-col {args.labels}"
        raise InputError(f"{', '.join(given)} {verb} to {other} only; {args.data} holds {kind}{hint}")


def _detector_params(args: argparse.Namespace, images: bool) -> dict:
    params = {name: getattr(args, name) for name in PARAMS if getattr(args, name) is not None}
    if args.scaler is not None:
        params["scaler"] = None if args.scaler == "none" else args.scaler
    if args.drift is not None:
        named = {"auto": "auto", "none": None}
        params["drift"] = named[args.drift] if args.drift in named else args.drift.split(",")
    if args.threshold is not None:
        params["threshold"] = args.threshold
    if args.model is not None:
        params["model"] = args.model
    if images:
        given = [name for name in SERIES_ONLY if name in params]
        if given:
            options = ", ".join("--" + name.replace("_", "-") for name in given)
            verb = "applies" if len(given) == 1 else "apply"
            raise InputError(f"{options} {verb} to series only; {args.data} holds images")
    params["verbose"] = not args.quiet
    return params


def _fit(args: argparse.Namespace) -> int:
    from reconad import detector

    out = _check_output(args.out, what="model file")
    data = Path(args.data)
    if not data.exists():
        raise InputError(f"data file {data} does not exist; check the path")
    images = _is_image_data(data)
    _check_kind_options(args, images, table_only=("rows", "label_col", "time_col", "columns", "drop", "sep"),
                        image_only=("labels", "normal"))
    params = _detector_params(args, images)
    cls = getattr(detector, "ImageDetector", None) if images else detector.SeriesDetector
    if cls is None:
        raise InputError(f"{data} holds images, and this version of reconad has no ImageDetector yet; "
                         "pass a CSV or Parquet table")
    det = cls.from_preset(args.preset, **params) if args.preset else cls(**params)
    started = time.perf_counter()
    if images:
        x, _ = _read_images(data)
        labels = _read_image_labels(args.labels, len(x), _columns_int(args.normal))
        if labels is not None:
            x = x[labels == 0]
            if len(x) == 0:
                raise InputError("no normal images left to train on; check --labels and --normal")
        what = f"{len(x):,} images of shape {tuple(x.shape[1:])}"
    else:
        table = _read_series(args, _columns(args.columns), args.label_col)
        x = table.features
        if table.labels is not None and table.labels.any():
            logging.getLogger("reconad").warning(
                "%d training rows are labelled anomalous; the detector treats all training data as normal",
                int(table.labels.sum()))
        what = f"{len(x):,} rows × {x.shape[1]} features ({', '.join(x.columns)})"
    from reconad.training import init_distributed_from_env, world

    distributed = init_distributed_from_env()  # under torchrun: each rank trains on its share (DDP)
    try:
        det.fit(x)
        if world()[0] != 0:
            return EXIT_OK  # rank 0 alone writes the model and reports
    finally:
        if distributed:
            import torch.distributed

            torch.distributed.barrier()
            torch.distributed.destroy_process_group()
    det.save(out)
    seconds = time.perf_counter() - started
    loss = f"; final training loss {det.history_[-1]['train_loss']:.4g}" if det.history_ else ""
    print(f"trained {cls.__name__}({det.model}) on {what} in {seconds:.1f} s{loss}")
    print(f"label-free threshold {det.threshold_.value_:.4g} from the {det.threshold_source_}")
    if getattr(det, "drifting_features_", None):
        centred = ", ".join(str(f) for f in det.drifting_features_)
        print(f"drifting, so seen centred on each window's mean: {centred} (--drift none keeps their level)")
    if data.is_file():
        from reconad.report import fingerprint_file

        print(f"training data {data.name}: {fingerprint_file(data)}")
    print(f"wrote {out}")
    return EXIT_OK


def _columns_int(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise InputError(f"--normal takes comma-separated class numbers, got {text!r}") from exc


# ---- score -----------------------------------------------------------------------------------------------------


def _regions_frame(predicted, scores, time=None, contributions=None, names=None):
    """The predicted regions as a table; ``contributions`` (``det.explain``, ``(T, D)``) with the features' ``names``
    adds ``top_features``."""
    import numpy as np
    import pandas as pd

    from reconad.detector import region_shares
    from reconad.metrics import regions

    spans = regions(np.asarray(predicted))
    frame = pd.DataFrame({"start": [s for s, _ in spans], "end": [e for _, e in spans]}, dtype="int64")
    frame["length"] = frame["end"] - frame["start"]
    frame["max_score"] = [float(np.max(scores[s:e])) for s, e in spans]
    if time is not None:
        frame["start_time"] = [time[s] for s, _ in spans]
        frame["end_time"] = [time[e - 1] for _, e in spans]
    if contributions is not None:
        frame["top_features"] = ["; ".join(f"{f['feature']} ({100 * f['share']:.0f}%)" for f in region["features"])
                                 for region in region_shares(contributions, spans, names)]
    return frame


def _score_series(det, args, explain: bool = False):
    """(table, scores, labels, scores frame, contributions): ``explain`` adds ``det.explain``'s ``(T, D)``
    contributions (else None), and ``--explain`` puts them in the frame."""
    import pandas as pd

    table = _read_series(args, _model_columns(det, args), getattr(args, "label_col", None))
    scores = det.anomaly_score(table.features)
    predicted = det.threshold_.predict(scores)
    frame = pd.DataFrame({"score": scores, "label": predicted})
    contributions = det.explain(table.features) if explain else None  # (T, D), one pass for every use
    if getattr(args, "explain", False):  # each feature's contribution to each row's score
        for j, name in enumerate(table.features.columns):
            frame[f"contribution:{name}"] = contributions[:, j]
    if table.time is not None:
        frame.insert(0, args.time_col, table.time)
    return table, scores, predicted, frame, contributions


def _score_dask(args: argparse.Namespace) -> int:
    """``score --engine dask``: a folder of Parquet partitions scored on Dask; identical to one process."""
    from reconad.distributed import score_parquet

    unsupported = {"--regions": args.regions, "--explain": args.explain, "--time-col": args.time_col,
                   "--drop": args.drop, "--label-col": args.label_col, "--sep": args.sep,
                   "--nan interpolate": args.nan != "raise"}
    named = [name for name, value in unsupported.items() if value]
    if named:
        raise InputError(f"{', '.join(named)} cannot be used with --engine dask; pick the features with --columns")
    summary = score_parquet(args.model, args.data, args.out, workers=args.workers, scheduler=args.scheduler,
                            columns=_columns(args.columns))
    print(f"scored {summary.rows:,} rows in {summary.partitions} partitions on Dask: {summary.flagged:,} flagged at "
          f"the label-free threshold {summary.threshold:.4g}")
    print(f"wrote {summary.out}/ (Parquet: step, score, label; one file per input partition)")
    return EXIT_OK


def _score(args: argparse.Namespace) -> int:
    import pandas as pd

    if args.engine == "dask":
        return _score_dask(args)
    if args.workers is not None or args.scheduler is not None:
        raise InputError("--workers and --scheduler need --engine dask")
    out = _check_output(args.out, SCORE_SUFFIXES, "scores file")
    regions_out = _check_output(args.regions, (".csv",), "regions file") if args.regions else None
    det = _load(args.model)
    det.set_params(verbose=not args.quiet)
    if type(det).__name__ == "ImageDetector":
        if args.explain:
            raise InputError("--explain names the sensors behind a series' scores; an image model has none (see "
                             "ImageDetector.error_map for where in an image the error lies)")
        images, names = _read_images(Path(args.data))
        scores = det.anomaly_score(images)
        predicted = det.threshold_.predict(scores)
        frame = pd.DataFrame({"image": names, "score": scores, "label": predicted})
        _write_frame(frame, out)
        print(f"scored {len(images):,} images: {int(predicted.sum())} flagged at threshold "
              f"{det.threshold_.value_:.4g}")
        print(f"wrote {out}")
        return EXIT_OK
    top_features = regions_out is not None and det.n_features_in_ > 1  # which sensors drove each region
    table, scores, predicted, frame, contributions = _score_series(det, args, args.explain or top_features)
    spans = _regions_frame(predicted, scores, table.time, contributions if top_features else None,
                           list(table.features.columns))
    _write_frame(frame, out)
    if regions_out is not None:
        _write_frame(spans, regions_out)
    print(f"scored {len(frame):,} rows: {int(predicted.sum()):,} flagged in {len(spans)} region(s) at the "
          f"label-free threshold {det.threshold_.level(scores):.4g}")
    print(f"wrote {out}" + (f" and {regions_out}" if regions_out else ""))
    return EXIT_OK


# ---- evaluate --------------------------------------------------------------------------------------------------


def metrics_text(evaluation: dict) -> str:
    """The evaluation as a plain-text table: threshold-free metrics, then label-free next to oracle."""
    free = evaluation["threshold_free"]
    lines = ["threshold-free: " + ", ".join(f"{k} {v:.4f}" for k, v in free.items())]
    keys = [k for k in ("precision", "recall", "f1", "event_f1", "point_adjusted_f1")
            if k in evaluation["label_free"]]
    header = f"{'threshold':<12} {'value':>10} " + " ".join(f"{k:>10}" for k in keys)
    lines += [header, "-" * len(header)]
    for kind in ("label_free", "oracle"):
        m = evaluation[kind]
        lines.append(f"{kind.replace('_', '-'):<12} {m['threshold']:>10.4g} "
                     + " ".join(f"{m[k]:>10.4f}" for k in keys))
    lines.append("oracle: threshold chosen with the labels (not available to a real detector).")
    if "note" in evaluation:
        lines.append(evaluation["note"])
    return "\n".join(lines)


def _evaluate(args: argparse.Namespace) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    from reconad import report

    report_out = _check_output(args.report, (".html", ".htm"), "report") if args.report else None
    json_out = _check_output(args.json, (".json",), "metrics file") if args.json else None
    det = _load(args.model)
    det.set_params(verbose=not args.quiet)
    data = Path(args.data)
    fingerprint = report.fingerprint_file(data) if data.is_file() else None
    title = f"reconad evaluation: {data.name}"
    _check_kind_options(args, type(det).__name__ == "ImageDetector", ("time_col", "columns", "drop", "sep"),
                        ("normal",))
    if type(det).__name__ == "ImageDetector":
        images, _ = _read_images(data)
        labels = _read_image_labels(args.labels, len(images), _columns_int(args.normal))
        if labels is None:
            raise InputError("evaluating images needs --labels FILE (IDX labels or a CSV column)")
        scores = det.anomaly_score(images)
        predicted = det.threshold_.predict(scores)
        info = {"name": data.name, "path": str(data.resolve()), "images": f"{len(images):,}",
                "image shape (C, H, W)": str(tuple(images.shape[1:])),
                "anomalies": f"{int(labels.sum()):,} ({labels.mean():.1%})", "fingerprint": fingerprint or
                report.fingerprint_arrays(images)}
        document, evaluation = report.image_report(det, images, scores, predicted, labels, data_info=info,
                                                   fingerprint=info["fingerprint"], title=title)
    else:
        if args.labels is None:
            raise InputError("evaluate needs --labels COLUMN, the 0/1 label column of the data")
        args.label_col = args.labels
        table, scores, predicted, _, _ = _score_series(det, args)
        info = _data_info(args, table, fingerprint)
        document, evaluation = report.series_report(det, table.features, scores, predicted, table.labels,
                                                    time=table.time, data_info=info, fingerprint=fingerprint,
                                                    title=title)
    print(metrics_text(evaluation))
    if json_out is not None:
        _write_json({"data": str(data), "fingerprint": fingerprint, "model": args.model, **evaluation}, json_out)
        print(f"wrote {json_out}")
    if report_out is not None:
        report.write_report(report_out, document)
        print(f"wrote {report_out}")
    return EXIT_OK


# ---- parser ----------------------------------------------------------------------------------------------------


def _add_table_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("table input (CSV or Parquet)")
    group.add_argument("--sep", default=None, help="CSV field separator (default: sniffed from the file)")
    group.add_argument("--time-col", default=None, help="time column (or a Parquet file's named index): dates or "
                       "numbers, strictly increasing")
    group.add_argument("--columns", default=None, help="comma-separated feature columns (default: every column "
                       "but the time and label columns; at scoring: the columns the model was fitted on)")
    group.add_argument("--drop", default=None, help="comma-separated columns to leave out of the features "
                       "(e.g. a second label column)")
    group.add_argument("--nan", choices=("raise", "interpolate"), default="raise",
                       help="missing values: refuse them (default) or interpolate linearly")


def _add_fit(commands) -> argparse.ArgumentParser:
    from reconad.presets import list_presets
    from reconad.thresholds import THRESHOLDS

    parser = commands.add_parser(
        "fit", help="train a detector on normal data (CSV, Parquet, IDX, PNG folder)",
        description="Train a detector on normal operation and save it to one model file. Tables (CSV / Parquet: "
                    "one row per time step) train a SeriesDetector; an IDX file or a folder of PNG images trains an "
                    "ImageDetector.")
    parser.add_argument("data", help="training data: CSV, Parquet, IDX file or folder of PNG images")
    parser.add_argument("--out", required=True, help="model file to write (e.g. pump.reconad)")
    _add_table_options(parser)
    parser.add_argument("--label-col", default=None, help="a label column to drop from training")
    parser.add_argument("--rows", default=None, help="train on these rows only: START:END, 0-based, END excluded "
                        "(e.g. :400, a stretch of normal operation)")
    images = parser.add_argument_group("image input (IDX file or PNG folder)")
    images.add_argument("--labels", default=None, help="labels file (IDX, or CSV whose last column holds one label "
                        "per image, PNG files in sorted name order) to keep only the normal images")
    images.add_argument("--normal", default=None, help="comma-separated classes that are normal (with --labels)")
    model = parser.add_argument_group("detector (default: the detector's own defaults, or the preset's)")
    model.add_argument("--model", default=None, help="registered model name (reconad.list_models())")
    model.add_argument("--preset", default=None, choices=list_presets(), help="named configuration")
    for name, (kind, text) in PARAMS.items():
        model.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None, help=text)
    model.add_argument("--scaler", choices=("standard", "none"), default=None, help="feature scaling")
    model.add_argument("--drift", default=None, help="features the model sees centred on each window's mean: "
                       "'auto' (those that drift in the training data; the default), 'none', or comma-separated "
                       "column names")
    model.add_argument("--threshold", choices=list(THRESHOLDS), default=None, help="label-free threshold method")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=_fit)
    return parser


def _add_score(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "score", help="score data with a saved detector",
        description="Score every row (or image) with a saved detector. Writes one row per input row: [time], "
                    "score, label (0/1 at the detector's label-free threshold); --regions adds the predicted "
                    "anomalous regions as half-open [start, end) row ranges (with the sensors that drove each), "
                    "--explain each sensor's contribution to each row's score.")
    parser.add_argument("model", help="model file written by `reconad fit`")
    parser.add_argument("data", help="data to score: CSV, Parquet, IDX file or folder of PNG images")
    parser.add_argument("--out", required=True, help="scores file, .csv or .parquet")
    parser.add_argument("--regions", default=None, help="also write the predicted regions to this .csv "
                        "(start, end, length, max_score[, start_time, end_time][, top_features: with several "
                        "features, the three with the largest share of the region's error])")
    parser.add_argument("--explain", action="store_true", help="series: add each feature's contribution to each "
                        "row's score to the scores file (columns contribution:<feature>, det.explain)")
    _add_table_options(parser)
    parser.add_argument("--label-col", default=None, help="a label column to ignore")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    dask = parser.add_argument_group("Dask (DATA a folder of Parquet partitions, --out a new folder; extra [dask])")
    dask.add_argument("--engine", choices=("local", "dask"), default="local", help="'dask' scores the partitions "
                      "in parallel with a window of overlap: the same scores as one process (default: local)")
    dask.add_argument("--workers", type=int, default=None, help="start a local Dask cluster of N worker processes")
    dask.add_argument("--scheduler", default=None, help="address of a running Dask scheduler, e.g. "
                      "tcp://host:8786 (data and --out on a file system every worker sees)")
    parser.set_defaults(func=_score)
    return parser


def _add_evaluate(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "evaluate", help="metrics and an HTML report on labelled data",
        description="Score labelled data with a saved detector and print threshold-free metrics (AUPRC, ROC-AUC) "
                    "and precision / recall / F1 at the label-free threshold next to the oracle's (best F1 "
                    "chosen with the labels); optionally write a self-contained HTML report.")
    parser.add_argument("model", help="model file written by `reconad fit`")
    parser.add_argument("data", help="labelled data: CSV, Parquet, IDX file or folder of PNG images")
    parser.add_argument("--labels", default=None, help="tables: the 0/1 label column; images: a labels file "
                        "(IDX, or CSV whose last column holds one label per image, PNG files in sorted name order)")
    parser.add_argument("--normal", default=None, help="images: comma-separated classes that are normal")
    parser.add_argument("--report", default=None, help="write the HTML report here (e.g. report.html)")
    parser.add_argument("--json", default=None, help="write the metrics as JSON here")
    _add_table_options(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=_evaluate)
    return parser


def _add_demo(commands) -> argparse.ArgumentParser:
    demo = commands.add_parser("demo", help="train and evaluate on embedded data (no files needed)",
                               description="Train on the noisy sine and scikit-learn's 8x8 digits, score, write "
                                           "metrics, figures and a self-contained HTML report.")
    demo.add_argument("--out", default="reconad-demo", help="output folder (default: reconad-demo)")
    demo.add_argument("--quick", action="store_true", help="two epochs only (a smoke run)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=_demo)
    return demo


def _add_serve(commands) -> None:
    """``reconad serve MODEL``: the HTTP scoring service of ``reconad.serve`` (extra ``[serve]``)."""

    def run(args: argparse.Namespace) -> int:
        from reconad.serve import serve

        if not 0 <= args.port <= 65535:
            raise InputError(f"--port must be in 0..65535, got {args.port}")
        serve(args.model, host=args.host, port=args.port, token=args.token, max_bytes=args.max_bytes)
        return EXIT_OK

    parser = commands.add_parser(
        "serve", help="HTTP scoring service for a series model (POST /score, GET /model, GET /health)",
        description="Load MODEL once and serve POST /score (a JSON array or text/csv) with FastAPI + uvicorn. "
                    "Binds 127.0.0.1 unless --host says otherwise.")
    parser.add_argument("model", help="model file written by `reconad fit` (a series model)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument("--token", default=None, help="require 'Authorization: Bearer TOKEN' (default: the "
                        "RECONAD_TOKEN environment variable, which other users cannot see in the process list)")
    parser.add_argument("--max-bytes", type=int, default=16 * 1024 * 1024,
                        help="largest request body in bytes; larger ones get 413 (default: 16 MiB)")
    parser.set_defaults(func=run)


def build_parser() -> argparse.ArgumentParser:
    from reconad import __version__

    parser = argparse.ArgumentParser(
        prog="reconad",
        description="Reconstruction-based anomaly detection for time series and images.",
    )
    parser.add_argument("--version", action="version", version=f"reconad {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_fit(commands)
    _add_score(commands)
    _add_evaluate(commands)
    _add_demo(commands)
    _add_experiment(commands)
    _add_bench(commands)
    _add_serve(commands)
    return parser


def _add_bench(commands) -> None:
    from reconad.presets import list_presets

    parser = commands.add_parser(
        "bench", help="NAB or SKAB benchmark: reconad defaults vs IsolationForest vs PCA, JSON + Markdown tables"
    )
    parser.add_argument("suite", choices=["nab", "skab"])
    parser.add_argument("--out", default="benchmarks/results", help="folder for SUITE.json and SUITE.md")
    parser.add_argument("--data", default=None, help="datasets folder (default: $RECONAD_DATA, else ../shared/data)")
    parser.add_argument("--files", default=None, help="comma-separated series / files (default: all)")
    parser.add_argument("--epochs", type=int, default=None, help="override the default epochs (quick checks only)")
    parser.add_argument(
        "--preset", default=None, choices=list_presets("SeriesDetector"),
        help="run reconad as this preset instead of its defaults; results go to SUITE-PRESET.json / .md",
    )
    parser.add_argument("--quiet", action="store_true", help="no line per series / file, only the summaries")
    parser.set_defaults(func=_bench)


def _bench(args) -> int:
    from reconad.bench import run_suite, summary_line

    names = [n for n in args.files.split(",") if n] if args.files else None
    result = run_suite(args.suite, args.out, args.data, names, args.epochs, None if args.quiet else print,
                       preset=args.preset)
    for detector, summary in result["summary"].items():
        print(detector, summary_line(summary))
    return 0


def _add_experiment(commands) -> None:
    try:
        from reconad.experiments import add_cli
    except ImportError:  # experiments not available in this version
        return
    add_cli(commands)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return args.func(args)
    except InputError as exc:
        message = " ".join(str(exc).split())  # one line, whatever the message holds
        print(f"reconad {args.command}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # unreadable input or unwritable output: the user's to fix
        print(f"reconad {args.command}: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())

"""``reconad fit DATA --out MODEL``: train a detector on normal data (a table, an IDX file or a PNG folder);
``--warm-start OLD`` continues a saved series detector on new normal data instead (``det.partial_fit``)."""

from __future__ import annotations

import argparse
import logging
import time

from reconad.commands.files import (
    check_input,
    check_output,
    classes,
    columns,
    is_image_detector,
    load_detector,
    read_series,
    read_series_rows,
)
from reconad.commands.options import PARAMS, check_kind_options, detector_params, option
from reconad.errors import InputError

EXIT_OK = 0
TABLE_ONLY = ("rows", "label_col", "time_col", "columns", "drop", "sep", "calibration")
IMAGE_ONLY = ("labels", "normal", "image_size")


def read_training_images(args: argparse.Namespace, data):
    """The normal images to train on (``--labels`` and ``--normal`` keep the normal ones) and a description."""
    from reconad.data.images import read_image_labels, read_images

    normal = classes(args.normal)
    if args.labels is None and normal is not None:  # it would otherwise be ignored, and every image used as normal
        raise InputError("--normal names the normal classes of --labels; pass the labels file too")
    if args.image_size is not None and not data.is_dir():
        raise InputError("--image-size resizes the files of a folder; an IDX file's images are taken as they are "
                         "(resize them before writing the file, or pass a folder of PNG / JPEG files)")
    x, _ = read_images(data, image_size(args.image_size))
    if args.labels is not None:
        labels = read_image_labels(args.labels, len(x), normal)
        x = x[labels == 0]
        if len(x) == 0:
            raise InputError("no normal images left to train on; check --labels and --normal")
    return x, f"{len(x):,} images of shape {tuple(x.shape[1:])}"


def image_size(text: str | None) -> tuple[int, int] | None:
    """``--image-size`` as ``(height, width)``: ``"64x48"`` or ``"64"`` (square); None when not given."""
    if text is None:
        return None
    parts = text.lower().split("x")
    if len(parts) > 2 or not all(p.strip().isdigit() and 0 < int(p) <= 4096 for p in parts):
        raise InputError(f"--image-size {text!r} is not HxW in pixels (e.g. 64x64, or 64 for a square), each 1..4096")
    return int(parts[0]), int(parts[-1])


def read_training_table(args: argparse.Namespace):
    """The feature columns of a table to train on, a description (labelled rows are kept, with a warning) and the
    half-open ``(start, end)`` rows of the table they are."""
    table, rows = read_series_rows(args, columns(args.columns), args.label_col)
    x = table.features
    if table.labels is not None and table.labels.any():
        logging.getLogger("reconad").warning(
            "%d training rows are labelled anomalous; the detector treats all training data as normal",
            int(table.labels.sum()))
    return x, f"{len(x):,} rows × {x.shape[1]} features ({', '.join(map(str, x.columns))})", rows


def check_model_name(name: str | None, images: bool) -> None:
    """Refuse a ``--model`` that is not a model for this kind of data, listing only the ones that are."""
    if name is None:
        return
    from reconad.models import list_models

    kind, data = ("image", "images") if images else ("series", "a table")
    known = list_models(kind=kind)
    if name not in known:
        other = " is an image model" if name in list_models(kind="image") else (
            " is a series model" if name in list_models() else " is not a registered model")
        raise InputError(f"--model {name!r}{other}; for {data} choose one of the {kind} models: {', '.join(known)}")


def train(det, x) -> bool:
    """Fit ``det`` on ``x``; under torchrun each rank trains on its share (DDP). True where this process is the
    one that writes the model (rank 0, or the only process)."""
    from reconad.training import init_distributed_from_env, world

    distributed = init_distributed_from_env()
    try:
        det.fit(x)
        return world()[0] == 0
    finally:
        if distributed:
            import torch.distributed

            torch.distributed.barrier()
            torch.distributed.destroy_process_group()


def warm_start(args: argparse.Namespace, out, data, images: bool) -> int:
    """``fit --warm-start OLD DATA``: continue the saved series detector on the new normal rows, then save."""
    kept = [option(name) for name in (*PARAMS, "model", "preset", "scaler", "drift", "threshold", "calibration")
            if name != "epochs" and getattr(args, name, None) is not None]
    if kept:
        raise InputError(f"{', '.join(kept)} cannot change a warm-started model (it keeps its model, window, "
                         "scaling and threshold rule); only --epochs (default 5) and --warm-scaler apply. Fit a new "
                         "model without --warm-start to change them")
    old = check_input(args.warm_start, "--warm-start model file")
    if images:
        raise InputError(f"--warm-start continues a series model on a table; {data} holds images")
    det = load_detector(str(old), args.quiet)
    if is_image_detector(det):
        raise InputError(f"{old} holds an image model; --warm-start continues series models")
    table = read_series(args, columns(args.columns) or det.feature_names_in_, args.label_col)
    before = float(det.threshold_)
    started = time.perf_counter()
    scaler = args.warm_scaler or "refit"
    det.partial_fit(table.features, epochs=args.epochs or 5, scaler=scaler)
    det.versions_[-1]["source"] = data.name
    det.save(out)
    record = det.versions_[-1]
    print(f"continued {old} for {record['epochs']} epochs on {record['rows']:,} new rows in "
          f"{time.perf_counter() - started:.1f} s (scaler: {scaler})")
    print(f"label-free threshold {before:.4g} -> {float(det.threshold_):.4g} from the {det.threshold_source_}")
    print(f"version {len(det.versions_)} of this model ({', '.join(v['kind'] for v in det.versions_)})")
    print(f"wrote {out}")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """The ``fit`` handler: check the inputs and options, read the data, then build, train and save."""
    from reconad.data.images import is_image_data

    out = check_output(args.out, what="model file")
    data = check_input(args.data)
    images = is_image_data(data)
    if args.warm_start is not None:
        return warm_start(args, out, data, images)
    if args.warm_scaler is not None:
        raise InputError("--warm-scaler goes with --warm-start OLD (the model to continue)")
    check_kind_options(args, images, table_only=TABLE_ONLY, image_only=IMAGE_ONLY)
    params = detector_params(args, images)
    x, what, *rows = read_training_images(args, data) if images else read_training_table(args)
    check_model_name(args.model, images)
    from reconad.detectors import ImageDetector, SeriesDetector  # torch, once the inputs are known to be good

    cls = ImageDetector if images else SeriesDetector
    det = cls.from_preset(args.preset, **params) if args.preset else cls(**params)
    started = time.perf_counter()
    if not train(det, x):
        return EXIT_OK  # another rank writes the model and reports
    if args.calibration == "folds":  # out-of-fold scores of the whole log join the held-out tail
        det.calibrate(x, out_of_fold=True)
    if getattr(det, "versions_", None):
        det.versions_[-1]["source"] = data.name  # which data made this version
    seconds = time.perf_counter() - started
    fingerprint = None
    if data.is_file():
        from reconad.report.sections import fingerprint_file

        fingerprint = fingerprint_file(data)
        if rows:  # evaluate on the same file leaves these rows out of its metrics
            det.record_training_data(file=data.name, fingerprint=fingerprint, rows=rows[0])
    det.save(out)
    loss = f"; final training loss {det.history_[-1]['train_loss']:.4g}" if det.history_ else ""
    print(f"trained {cls.__name__}({det.model}) on {what} in {seconds:.1f} s{loss}")
    print(f"label-free threshold {float(det.threshold_):.4g} from the {det.threshold_source_}")
    if getattr(det, "drifting_features_", None):
        centred = ", ".join(str(f) for f in det.drifting_features_)
        print(f"drifting, so seen centred on each window's mean: {centred} (--drift none keeps their level)")
    if fingerprint is not None:
        start, end = rows[0] if rows else (None, None)
        where = f" rows {start}:{end}" if rows else ""
        print(f"training data {data.name}{where}: {fingerprint}")
    print(f"wrote {out}")
    return EXIT_OK

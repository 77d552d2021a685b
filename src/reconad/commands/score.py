"""``reconad score MODEL DATA --out SCORES``: score every row (or image) with a saved detector; optionally the
predicted regions (``--regions``), each feature's contribution (``--explain``), or partitions on Dask."""

from __future__ import annotations

import argparse
from pathlib import Path

from reconad.commands.files import (
    check_distinct,
    check_input,
    check_output,
    columns,
    is_image_detector,
    load_detector,
    model_columns,
    read_series_rows,
    write_frame,
    write_frames,
)
from reconad.errors import InputError

EXIT_OK = 0
SCORE_SUFFIXES = (".csv", ".parquet", ".pq")


def regions_frame(predicted, scores, time=None, contributions=None, names=None):
    """The predicted regions as a table: start, end, length, max_score[, start_time, end_time][, top_features].

    ``contributions`` (``det.explain``, ``(T, D)``) with the features' ``names`` adds ``top_features``.
    """
    import numpy as np
    import pandas as pd

    from reconad.explain import region_shares
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


def score_series(det, args: argparse.Namespace, explain: bool = False):
    """``(table, scores, predicted, scores frame, contributions, rows)`` of the table ``args.data``; ``rows`` is the
    half-open ``(start, end)`` range of the file's rows that ``--rows`` selected.

    ``explain`` computes ``det.explain``'s ``(T, D)`` contributions (else None); ``--explain`` adds them to
    the frame as ``contribution:<feature>`` columns.
    """
    import pandas as pd

    from reconad.commands.alarms import apply_options

    table, rows = read_series_rows(args, model_columns(det, args), getattr(args, "label_col", None))
    apply_options(det, args, table.time)  # --threshold / --alarms: a new level on the kept calibration scores
    scores = det.anomaly_score(table.features)
    predicted = det.threshold_.predict(scores)  # exactly the scores written, one model pass
    frame = pd.DataFrame({"score": scores, "label": predicted})
    contributions = det.explain(table.features) if explain else None  # (T, D), one pass for every use
    if getattr(args, "explain", False):  # each feature's contribution to each row's score
        for j, name in enumerate(table.features.columns):
            frame[f"contribution:{name}"] = contributions[:, j]
    if table.time is not None:
        frame.insert(0, args.time_col, table.time)
    return table, scores, predicted, frame, contributions, rows


def run_dask(args: argparse.Namespace) -> int:
    """``score --engine dask``: a folder of Parquet partitions scored on Dask; identical to one process."""
    unsupported = {"--regions": args.regions, "--explain": args.explain, "--time-col": args.time_col,
                   "--drop": args.drop, "--label-col": args.label_col, "--sep": args.sep,
                   "--nan interpolate": args.nan != "raise", "--duplicate-times": args.duplicate_times != "raise",
                   "--unsorted": args.unsorted != "raise"}
    named = [name for name, value in unsupported.items() if value]
    if named:
        raise InputError(f"{', '.join(named)} cannot be used with --engine dask; pick the features with --columns")
    check_input(args.model, "model file")
    check_input(args.data, "data folder")
    from reconad.distributed import score_parquet

    summary = score_parquet(args.model, args.data, args.out, workers=args.workers, scheduler=args.scheduler,
                            columns=columns(args.columns))
    print(f"scored {summary.rows:,} rows in {summary.partitions} partitions on Dask: {summary.flagged:,} flagged at "
          f"the label-free threshold {summary.threshold:.4g}")
    print(f"wrote {summary.out}/ (Parquet: step, score, label; one file per input partition)")
    return EXIT_OK


def score_images(det, args: argparse.Namespace, out: Path) -> int:
    """Score an IDX file or a PNG folder: one row per image (name, score, label)."""
    import pandas as pd

    from reconad.data.images import read_images

    if args.explain:
        raise InputError("--explain names the sensors behind a series' scores; an image model has none (see "
                         "ImageDetector.error_map for where in an image the error lies)")
    channels, height, width = det.image_shape_  # a folder's files are read as the detector was trained
    images, names = read_images(Path(args.data), (height, width), channels if channels in (1, 3) else None)
    scores = det.anomaly_score(images)
    predicted = det.threshold_.predict(scores)
    write_frame(pd.DataFrame({"image": names, "score": scores, "label": predicted}), out)
    print(f"scored {len(images):,} images: {int(predicted.sum())} flagged at threshold {float(det.threshold_):.4g}")
    print(f"wrote {out}")
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    """The ``score`` handler."""
    if args.engine == "dask":
        if args.threshold is not None or args.alarms is not None:
            raise InputError("--threshold and --alarms apply to the local engine; with Dask, set the level in "
                             "Python (det.set_threshold(...); det.save(path)) and score with that model")
        return run_dask(args)
    if args.workers is not None or args.scheduler is not None:
        raise InputError("--workers and --scheduler need --engine dask")
    out = check_output(args.out, SCORE_SUFFIXES, "scores file")
    regions_out = check_output(args.regions, (".csv",), "regions file") if args.regions else None
    check_distinct({"--out": out, "--regions": regions_out}, {"model file": Path(args.model),
                                                               "data file": check_input(args.data)})
    det = load_detector(args.model, args.quiet)
    if is_image_detector(det):
        from reconad.commands.alarms import apply_options

        apply_options(det, args)
        return score_images(det, args, out)
    top_features = regions_out is not None and det.n_features_in_ > 1  # which sensors drove each region
    table, scores, predicted, frame, contributions, _ = score_series(det, args, args.explain or top_features)
    spans = regions_frame(predicted, scores, table.time, contributions if top_features else None,
                          list(table.features.columns))
    write_frames([(frame, out)] + ([(spans, regions_out)] if regions_out is not None else []))  # one unit
    print(f"scored {len(frame):,} rows: {int(predicted.sum()):,} flagged in {len(spans)} region(s) at the "
          f"label-free threshold {float(det.threshold_):.4g}")
    print(f"wrote {out}" + (f" and {regions_out}" if regions_out else ""))
    return EXIT_OK

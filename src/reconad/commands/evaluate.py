"""``reconad evaluate MODEL DATA --labels ...``: metrics (label-free next to oracle) on labelled data, and
optionally an HTML report (``--report``) and the metrics as JSON (``--json``)."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from reconad.commands.files import (
    check_input,
    check_output,
    classes,
    data_info,
    is_image_detector,
    load_detector,
    write_json,
)
from reconad.commands.options import check_kind_options
from reconad.commands.score import score_series
from reconad.errors import InputError

EXIT_OK = 0


def evaluate_images(det, args: argparse.Namespace, data: Path, fingerprint: str | None, title: str, report: bool):
    """``(html or None, evaluation)`` of labelled images."""
    from reconad.data.images import read_image_labels, read_images
    from reconad.metrics.evaluation import image_evaluation
    from reconad.report.sections import fingerprint_arrays
    from reconad.report_inputs import image_report_of

    if args.labels is None:
        raise InputError("evaluating images needs --labels FILE (IDX labels or a CSV column)")
    channels, height, width = det.image_shape_  # a folder's files are read as the detector was trained
    images, _ = read_images(data, (height, width), channels if channels in (1, 3) else None)
    labels = read_image_labels(args.labels, len(images), classes(args.normal))
    scores = det.anomaly_score(images)
    predicted = det.threshold_.predict(scores)
    fingerprint = fingerprint or fingerprint_arrays(images)
    if not report:
        return None, image_evaluation(labels, scores, predicted, float(det.threshold_), det.threshold_source_)
    info = {"name": data.name, "path": str(data.resolve()), "images": f"{len(images):,}",
            "image shape (C, H, W)": str(tuple(images.shape[1:])),
            "anomalies": f"{int(labels.sum()):,} ({labels.mean():.1%})", "fingerprint": fingerprint}
    return image_report_of(det, images, scores, predicted, labels, data_info=info, fingerprint=fingerprint,
                           title=title)


def first_label_like(args: argparse.Namespace) -> str:
    """The first label-like column of the table (``anomaly``, ``label``, ...), used as labels without ``--labels``."""
    from reconad.data.tables import LABEL_LIKE, label_like, load_frame

    found = label_like(load_frame(args.data, args.sep).columns)
    if not found:
        raise InputError(f"evaluate needs --labels COLUMN, the 0/1 label column of the data (none of its columns "
                         f"is named like one: {', '.join(LABEL_LIKE)})")
    logging.getLogger("reconad").warning("using column %r of %s as the labels (pass --labels COLUMN to choose "
                                         "another)", found[0], args.data)
    return found[0]


def training_overlap(det, fingerprint: str | None, rows: tuple[int, int]) -> tuple[int, int] | None:
    """The rows (relative to the scored ``rows`` of the file) the detector was fitted on, when it was fitted on
    this very file (same fingerprint) and they overlap; else None."""
    record = getattr(det, "training_data_", None)
    if record is None or fingerprint is None or record["fingerprint"] != fingerprint:
        return None
    start, end = max(record["rows"][0], rows[0]) - rows[0], min(record["rows"][1], rows[1]) - rows[0]
    return (start, end) if start < end else None


def evaluate_series(det, args: argparse.Namespace, fingerprint: str | None, title: str, report: bool):
    """``(html or None, evaluation)`` of a labelled table (``--labels`` names its 0/1 label column).

    Rows the model was fitted on (the file and rows ``reconad fit`` recorded) are scored, drawn shaded in the report,
    and left out of the metrics: a model reconstructs what it learned too well.
    """
    import numpy as np

    from reconad.metrics.evaluation import series_evaluation
    from reconad.report_inputs import series_report_of

    args.label_col = args.labels if args.labels is not None else first_label_like(args)
    several = det.n_features_in_ > 1
    table, scores, predicted, _, contributions, rows = score_series(det, args, explain=report and several)
    training = training_overlap(det, fingerprint, rows)
    kept = np.ones(len(scores), dtype=bool)
    if training is not None:
        kept[training[0]:training[1]] = False
        first, last = training[0] + rows[0], training[1] + rows[0]
        if kept.any():
            logging.getLogger("reconad").warning(
                "leaving rows %d:%d of %s out of the metrics: the model was fitted on them (%d rows evaluated)",
                first, last, args.data, int(kept.sum()))
        else:  # nothing else to evaluate: say the metrics flatter the model rather than refuse
            logging.getLogger("reconad").warning(
                "the model was fitted on every row evaluated (rows %d:%d of %s): the metrics below are optimistic; "
                "evaluate rows it did not train on (--rows, or another file)", first, last, args.data)
            kept[:], training = True, None
    if report:  # the report's own evaluation leaves the same rows out: one pass of the metrics
        document, evaluation = series_report_of(det, table.features, scores, predicted, table.labels,
                                                time=table.time, data_info=data_info(args, table, fingerprint),
                                                fingerprint=fingerprint, contributions=contributions,
                                                training=training, title=title)
    else:
        document = None
        evaluation = series_evaluation(table.labels[kept], scores[kept], predicted[kept], float(det.threshold_),
                                       det.threshold_source_)
    evaluation["rows"] = {"evaluated": int(kept.sum()), "anomalous": int(table.labels[kept].sum()),
                          "left_out_as_training": None if training is None else [first, last]}
    return document, evaluation


def run(args: argparse.Namespace) -> int:
    """The ``evaluate`` handler."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    from reconad.metrics.evaluation import metrics_text

    report_out = check_output(args.report, (".html", ".htm"), "report") if args.report else None
    json_out = check_output(args.json, (".json",), "metrics file") if args.json else None
    data = check_input(args.data)
    det = load_detector(args.model, args.quiet)
    images = is_image_detector(det)
    check_kind_options(args, images, ("time_col", "columns", "drop", "sep", "rows"), ("normal",))
    from reconad.report.sections import fingerprint_file

    fingerprint = fingerprint_file(data) if data.is_file() else None
    title = f"reconad evaluation: {data.name}"
    if images:
        document, evaluation = evaluate_images(det, args, data, fingerprint, title, report_out is not None)
    else:
        document, evaluation = evaluate_series(det, args, fingerprint, title, report_out is not None)
    print(metrics_text(evaluation))
    if json_out is not None:
        write_json({"data": str(data), "fingerprint": fingerprint, "model": args.model, **evaluation}, json_out)
        print(f"wrote {json_out}")
    if report_out is not None:
        from reconad.report.html import write_report

        write_report(report_out, document)
        print(f"wrote {report_out}")
    return EXIT_OK

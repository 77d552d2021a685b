"""The ``reconad`` command: argument parsing only. ``fit``, ``score``, ``evaluate`` on your own files, ``demo`` on
embedded data, ``experiment`` and ``bench`` for tables, ``serve`` for a scoring service, ``watch`` for live rows.

Exit codes: 0 success, 1 failure, 2 bad input (one line on stderr, no traceback), 130 interrupted (Ctrl-C).
Each subcommand is one ``_add_<name>(commands)`` function that registers its options; its handler lives in
``reconad.commands.<name>`` and is imported only when the command runs, so ``--help`` and argument errors answer
without importing torch.
Every output is written to a temporary file and renamed into place: a failure never leaves a half-written file.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from reconad.commands.alarms import add_options as add_alarm_options
from reconad.commands.options import PARAMS, THRESHOLD_NAMES, option
from reconad.errors import InputError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _handler(module: str):
    """The ``run(args)`` of ``reconad.commands.<module>``, imported when the command runs."""

    def run(args: argparse.Namespace) -> int:
        return importlib.import_module(f"reconad.commands.{module}").run(args)

    return run


def _add_table_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("table input (CSV or Parquet)")
    group.add_argument("--sep", default=None, help="CSV field separator (default: sniffed from the file)")
    group.add_argument("--time-col", default=None, help="time column (or a Parquet file's named index): dates or "
                       "numbers, strictly increasing")
    group.add_argument("--columns", default=None, help="comma-separated feature columns (default: every column "
                       "but the time and label columns and label-like ones such as anomaly, label, target; at "
                       "scoring: the columns the model was fitted on)")
    group.add_argument("--drop", default=None, help="comma-separated columns to leave out of the features "
                       "(e.g. a second label column)")
    group.add_argument("--nan", choices=("raise", "interpolate"), default="raise",
                       help="missing values: refuse them (default) or interpolate linearly")
    group.add_argument("--duplicate-times", choices=("raise", "first", "last", "mean"), default="raise",
                       help="rows that repeat a time of --time-col (a clock change): refuse them (default), or keep "
                       "the first, the last or the mean of each time")
    group.add_argument("--unsorted", choices=("raise", "sort"), default="raise",
                       help="rows whose --time-col goes back in time: refuse them (default) or sort the rows by time")


def _add_fit(commands) -> argparse.ArgumentParser:
    from reconad.presets import list_presets

    parser = commands.add_parser(
        "fit", help="train a detector on normal data (CSV, Parquet, IDX, PNG folder)",
        description="Train a detector on normal operation and save it to one model file. Tables (CSV / Parquet: "
                    "one row per time step) train a SeriesDetector; an IDX file or a folder of PNG images trains an "
                    "ImageDetector.")
    parser.add_argument("data", help="training data: CSV, Parquet, IDX file or folder of PNG / JPEG images")
    parser.add_argument("--out", required=True, help="model file to write (e.g. pump.reconad)")
    _add_table_options(parser)
    parser.add_argument("--label-col", default=None, help="a label column to drop from training")
    parser.add_argument("--rows", default=None, help="train on these rows only: START:END, 0-based, END excluded "
                        "(e.g. :400, a stretch of normal operation)")
    images = parser.add_argument_group("image input (IDX file or folder of PNG / JPEG images)")
    images.add_argument("--labels", default=None, help="labels file (IDX, or CSV whose last column holds one label "
                        "per image, PNG files in sorted name order) to keep only the normal images")
    images.add_argument("--normal", default=None, help="comma-separated classes that are normal (with --labels)")
    images.add_argument("--image-size", default=None, metavar="HxW", help="resize a folder's images to H x W "
                        "pixels (default: the first file's size); scoring resizes to the same")
    model = parser.add_argument_group("detector (default: the detector's own defaults, or the preset's)")
    model.add_argument("--model", default=None, help="registered model name (reconad.list_models())")
    model.add_argument("--preset", default=None, choices=list_presets(), help="named configuration")
    for name, (kind, text) in PARAMS.items():
        model.add_argument(option(name), dest=name, type=kind, default=None, help=text)
    model.add_argument("--scaler", choices=("standard", "none"), default=None, help="series: feature scaling")
    model.add_argument("--drift", default=None, help="series: features the model sees centred on each window's "
                       "mean: 'auto' (those that drift in the training data; the default), 'none', or "
                       "comma-separated column names")
    model.add_argument("--threshold", choices=THRESHOLD_NAMES, default=None, help="label-free threshold method")
    model.add_argument("--calibration", choices=("tail", "folds"), default=None, help="series: the normal scores "
                       "the threshold is fitted on: the held-out tail (default), or also out-of-fold scores of the "
                       "whole training log (two extra half-size fits, about three times the fit time in all; an "
                       "alarm level that does not hang on one stretch)")
    warm = parser.add_argument_group("warm start (a series model kept current on new normal data)")
    warm.add_argument("--warm-start", default=None, metavar="OLD", help="continue training the saved model OLD on "
                      "DATA for --epochs (default 5) instead of starting over; the calibration and the alarm level "
                      "are fitted again on DATA's held-out tail, and the model file records the version")
    warm.add_argument("--warm-scaler", choices=("refit", "keep"), default=None, help="the scaling statistics: "
                      "fitted again on DATA (refit, the default; a level shift then looks like the old normal) or "
                      "kept")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=_handler("fit"))
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
    add_alarm_options(parser)
    dask = parser.add_argument_group("Dask (DATA a folder of Parquet partitions, --out a new folder; extra [dask])")
    dask.add_argument("--engine", choices=("local", "dask"), default="local", help="'dask' scores the partitions "
                      "in parallel with a window of overlap: the same scores as one process (default: local)")
    dask.add_argument("--workers", type=int, default=None, help="start a local Dask cluster of N worker processes")
    dask.add_argument("--scheduler", default=None, help="address of a running Dask scheduler, e.g. "
                      "tcp://host:8786 (data and --out on a file system every worker sees)")
    parser.set_defaults(func=_handler("score"))
    return parser


def _add_evaluate(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "evaluate", help="metrics and an HTML report on labelled data",
        description="Score labelled data with a saved detector and print threshold-free metrics (AUPRC, ROC-AUC) "
                    "and precision / recall / F1 at the label-free threshold next to the oracle's (best F1 "
                    "chosen with the labels); optionally write a self-contained HTML report.")
    parser.add_argument("model", help="model file written by `reconad fit`")
    parser.add_argument("data", help="labelled data: CSV, Parquet, IDX file or folder of PNG / JPEG images")
    parser.add_argument("--labels", default=None, help="tables: the 0/1 label column; images: a labels file "
                        "(IDX, or CSV whose last column holds one label per image, PNG files in sorted name order)")
    parser.add_argument("--normal", default=None, help="images: comma-separated classes that are normal")
    parser.add_argument("--report", default=None, help="write the HTML report here (e.g. report.html)")
    parser.add_argument("--json", default=None, help="write the metrics as JSON here")
    parser.add_argument("--rows", default=None, help="evaluate these rows only: START:END, 0-based, END excluded; "
                        "rows the model was fitted on (recorded by `reconad fit` for this file) are always left out "
                        "of the metrics")
    _add_table_options(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=_handler("evaluate"))
    return parser


def _add_demo(commands) -> argparse.ArgumentParser:
    demo = commands.add_parser("demo", help="train and evaluate on embedded data (no files needed)",
                               description="Train on the noisy sine and scikit-learn's 8x8 digits, score, write "
                                           "metrics, figures and a self-contained HTML report.")
    demo.add_argument("--out", default="reconad-demo", help="output folder (default: reconad-demo)")
    demo.add_argument("--quick", action="store_true", help="two epochs only (a smoke run)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=_handler("demo"))
    return demo


def _add_serve(commands) -> argparse.ArgumentParser:
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
    parser.add_argument("--max-rows", type=int, default=1_000_000,
                        help="most rows one request may score; more get 413 (default: 1,000,000)")
    parser.add_argument("--workers", type=int, default=2, help="threads that parse, score and encode requests "
                        "off the event loop, so /health always answers (default: 2)")
    parser.add_argument("--upload-timeout", type=float, default=60.0, help="seconds a request body may take to "
                        "arrive; slower uploads get 408 (default: 60)")
    parser.set_defaults(func=_handler("serve"))
    return parser


def _add_watch(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "watch", help="score live rows (stdin, a growing file, MQTT); one JSON line per alarm event",
        description="Score rows as they arrive with a saved series model and write one JSON line per confirmed "
                    "alarm event (a run of flagged rows, once it has ended: start, end, max_score, times, top "
                    "features). Input: CSV with a header line, or JSON lines, on standard input (default), a file "
                    "followed as it grows (--follow), or an MQTT topic (--mqtt). The events equal `reconad score "
                    "--regions` on the same rows. EOF ends the stream (exit 0), Ctrl-C too (exit 130).")
    parser.add_argument("model", help="model file written by `reconad fit` (a series model)")
    parser.add_argument("--follow", default=None, metavar="FILE", help="read FILE from its start and keep reading "
                        "what is appended to it, as tail -f (until Ctrl-C)")
    parser.add_argument("--format", choices=("auto", "csv", "jsonl"), default="auto", help="input rows: CSV lines "
                        "after a header line, or JSON lines (objects by column name, or arrays); default: by the "
                        "first line")
    parser.add_argument("--time-col", default=None, help="the column (or JSON key) holding each row's time, copied "
                        "to the events as start_time / end_time; a row whose time is not after the previous one's "
                        "(a repeated MQTT delivery) is skipped")
    parser.add_argument("--sep", default=None, help="CSV field separator (default: from the header line)")
    parser.add_argument("--on-bad-line", choices=("skip", "stop"), default="skip", help="a malformed line: report "
                        "it on stderr and skip it (default; counted at the end), or stop there (exit 2)")
    parser.add_argument("--scores", action="store_true", help="also write one line per row's score "
                        '({"type": "score", "row", "score", "label"[, "time"]})')
    parser.add_argument("--low-latency", action="store_true", help="score each window as soon as it is complete "
                        "(scores lag by a window, not up to 1,024 rows more; equal to `reconad score` to float32 "
                        "rounding instead of bit for bit)")
    parser.add_argument("--rate-period", type=int, default=100_000, help="rows over which the alarm rate is "
                        "compared with the budget at the end (default: 100,000)")
    add_alarm_options(parser)
    mqtt = parser.add_argument_group("MQTT (extra [mqtt]: paho-mqtt; QoS 1, persistent session, reconnects)")
    mqtt.add_argument("--mqtt", default=None, metavar="HOST:PORT", help="read rows from an MQTT broker (each "
                      "message one or more CSV / JSON lines; CSV needs its header line as the first message)")
    mqtt.add_argument("--topic", default=None, help="topic the rows arrive on (e.g. sensors/pump1)")
    mqtt.add_argument("--alarms-topic", default=None, help="topic to publish each alarm event's JSON to")
    mqtt.add_argument("--client-id", default=None, help="the session's client id: the broker keeps the "
                      "subscription and queues QoS 1 rows while the client is away (default: reconad-watch-TOPIC)")
    parser.set_defaults(func=_handler("watch"))
    return parser


def _add_experiment(commands) -> None:
    """``reconad experiment``: registered by ``reconad.commands.experiment.add_cli`` (handler ``run_cli``)."""
    from reconad.commands.experiment import add_cli

    add_cli(commands)


def _add_bench(commands) -> None:
    """``reconad bench``: registered by ``reconad.bench.add_cli``, which sets its own handler."""
    from reconad import bench

    add_cli = getattr(bench, "add_cli", None)
    if add_cli is None:
        raise RuntimeError("reconad.bench has no add_cli(subparsers); it must register the 'bench' subcommand")
    add_cli(commands)


def build_parser() -> argparse.ArgumentParser:
    """The ``reconad`` argument parser with every subcommand (imports no torch)."""
    return _parsers()[0]


def _parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The ``reconad`` parser and each subcommand's own parser by name (whose usage an error in it prints)."""
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
    _add_watch(commands)
    return parser, commands.choices


def main(argv: list[str] | None = None) -> int:
    """Run ``reconad ARGV``; return the exit code (0 success, 1 failure, 2 bad input, 130 interrupted)."""
    parser, subcommands = _parsers()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # the usage of the subcommand they were given to, not the top-level one
        owner = subcommands.get(getattr(args, "command", None), parser)
        owner.error(f"unrecognized arguments: {' '.join(unknown)}")
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
    except KeyboardInterrupt:  # Ctrl-C: the shell's convention, 128 + SIGINT
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())

"""The benchmark suites behind the published result tables, and the ``reconad bench NAME`` command.

Each suite is a run function (keyword options in, a JSON-ready payload out) and a Markdown function (payload in,
table out) in its own module; :func:`run_suite` adds the machine and the wall time and, with an output folder,
writes ``STEM.json`` and ``STEM.md`` there. Nothing is imported from a suite's module, and so nothing from torch,
until that suite runs: ``reconad bench --help`` answers at once.

=================  =========================================================  =====================
suite              what it measures                                           about (2 CPU cores)
=================  =========================================================  =====================
sine-notebook      the course notebook's RNN auto-encoder on its protocol     4 minutes
sine-independent   the defaults on the independent sine, seeds 0-9            2 minutes
mnist-course       the lecture slides' MNIST grid (54 runs)                   30 minutes
mnist-oneclass     one-class MNIST, defaults vs IsolationForest and PCA       30 minutes
nab                NAB: defaults (and pca) vs IsolationForest, PCA; VUS-PR    6 minutes
skab               SKAB: the same, pooled as SKAB's leaderboard               5 minutes
speed              training speed-up, bounded memory, streaming               15 minutes
serve-load         ``reconad serve`` under 32 concurrent clients              1 minute
alarms             false alarms and their stability (issue 34), NAB + SKAB    20 minutes
watch              ``reconad watch`` throughput against batch scoring         3 minutes
warm-start         ``partial_fit`` after a level shift vs a full refit        5 minutes
image-suites       image defaults on textures (masks) and transformed digits  4 minutes
=================  =========================================================  =====================
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path
from typing import NamedTuple


class Suite(NamedTuple):
    module: str  # inside reconad.bench
    run: str  # run(**options, progress=...) -> payload
    markdown: str  # markdown(payload) -> str
    stem: str  # the results' file name without extension
    help: str
    minutes: float  # about, on two CPU cores
    options: tuple[str, ...]  # the run function's keyword options (besides progress)


SUITES: dict[str, Suite] = {
    "sine-notebook": Suite("sine", "run_notebook", "notebook_markdown", "sine_notebook",
                           "the course notebook's RNN auto-encoder on its own protocol (preset sine-notebook)", 4,
                           ("seeds", "epochs")),
    "sine-independent": Suite("sine", "run_independent", "independent_markdown", "sine_independent",
                              "the defaults on the independent noisy sine, seeds 0-9", 2,
                              ("seeds", "epochs")),
    "mnist-course": Suite("mnist", "run_course", "course_markdown", "mnist_course",
                          "the lecture slides' MNIST grid, next to the slides' numbers", 30,
                          ("epochs", "seeds", "root", "out_dir")),
    "mnist-oneclass": Suite("mnist", "run_oneclass", "oneclass_markdown", "mnist_oneclass",
                            "one-class MNIST with ImageDetector's defaults vs IsolationForest and PCA", 30,
                            ("digits", "seeds", "workers", "device", "epochs", "root")),
    "nab": Suite("sensors", "run_nab", "nab_markdown", "nab",
                 "NAB: SeriesDetector's defaults (and model='pca') vs IsolationForest and PCA on windows, with "
                 "VUS-PR graded as TSB-AD grades", 6,
                 ("epochs", "root", "names")),
    "skab": Suite("sensors", "run_skab", "skab_markdown", "skab",
                  "SKAB: the same, pooled over files as SKAB's leaderboard", 5, ("epochs", "root", "names")),
    "speed": Suite("speed", "run", "markdown", "speed",
                   "training speed-up of the recurrent decoder, bounded-memory and streaming scoring", 15,
                   ("repeats", "epochs", "steps", "device")),
    "serve-load": Suite("serve_load", "run", "markdown", "serve_load",
                        "reconad serve under concurrent clients (needs the serve extra)", 1,
                        ("requests", "seconds", "clients", "steps")),
    "alarms": Suite("alarms", "run", "markdown", "alarms",
                    "false alarms per 10k rows and their stability over training stretches (NAB, SKAB), "
                    "defaults vs IsolationForest and PCA", 20, ("epochs", "root", "series", "names", "thresholds")),
    "watch": Suite("watch", "run", "markdown", "watch",
                   "reconad watch's throughput against batch scoring of the same rows, in one run", 2,
                   ("repeats", "steps")),
    "warm-start": Suite("warm_start", "run", "markdown", "warm_start",
                        "false alarms after a level shift, before and after partial_fit, and its cost against a full "
                        "refit", 5, ("repeats", "epochs")),
    "image-suites": Suite("image_suites", "run", "markdown", "image_suites",
                          "ImageDetector's defaults on textures with defect masks and transformed digits, vs raw-pixel "
                          "5-NN and IsolationForest", 4, ("names", "epochs", "digits", "root")),
}


def list_suites() -> list[str]:
    """The suite names ``reconad bench`` takes."""
    return list(SUITES)


def _suite(name: str) -> Suite:
    if name not in SUITES:
        raise ValueError(f"unknown benchmark suite {name!r}; choose from {', '.join(SUITES)}")
    return SUITES[name]


def markdown(name: str, payload: dict) -> str:
    """The Markdown tables of a suite's payload."""
    suite = _suite(name)
    return getattr(importlib.import_module(f"reconad.bench.{suite.module}"), suite.markdown)(payload)


def run_suite(name: str, out_dir=None, *, progress=None, **options) -> dict:
    """Run suite ``name`` with its keyword ``options``; with ``out_dir`` write ``STEM.json`` and ``STEM.md`` there.

    Returns the payload, with ``machine`` (see :func:`reconad.bench.results.machine`), ``suite`` and ``seconds``.
    An option the suite does not take raises ``ValueError`` naming the ones it does.
    """
    from reconad.bench.results import machine, write_results

    suite = _suite(name)
    unknown = sorted(set(options) - set(suite.options))
    if unknown:
        raise ValueError(f"suite {name!r} takes no option {', '.join(unknown)}; it takes "
                         f"{', '.join(suite.options) or 'none'}")
    if "out_dir" in suite.options:
        options["out_dir"] = out_dir
    module = importlib.import_module(f"reconad.bench.{suite.module}")
    began = time.perf_counter()
    payload = getattr(module, suite.run)(progress=progress, **options)
    payload.update(suite=name, machine=machine(), seconds=time.perf_counter() - began)
    if out_dir is not None:
        write_results(out_dir, suite.stem, payload, getattr(module, suite.markdown)(payload))
    return payload


# ---- command line: argument parsing only -----------------------------------------------------------------------

_CLI_OPTIONS = {  # CLI flag -> (run option, argparse keywords)
    "--epochs": ("epochs", {"type": int, "help": "training epochs instead of the suite's (quick checks only)"}),
    "--seeds": ("seeds", {"type": int, "nargs": "+", "help": "random_state values (sine, mnist)"}),
    "--data": ("root", {"help": "datasets folder (default: $RECONAD_DATA, else ../shared/data)"}),
    "--files": ("names", {"nargs": "+", "help": "nab, skab, alarms: only these series (nab) / SKAB files; "
                          "image-suites: only these suites"}),
    "--series": ("series", {"nargs": "+", "help": "alarms: only these NAB series"}),
    "--thresholds": ("thresholds", {"metavar": "NAME[,NAME...]", "help": "alarms: extra threshold rules (names "
                                    "of reconad.thresholds.THRESHOLDS, or default) on the same fitted detectors"}),
    "--digits": ("digits", {"type": int, "nargs": "+", "help": "mnist-oneclass, image-suites: only these digits"}),
    "--workers": ("workers", {"type": int, "help": "mnist-oneclass: worker processes (default 2)"}),
    "--device": ("device", {"help": "mnist-oneclass, speed: torch device (default cpu)"}),
    "--repeats": ("repeats", {"type": int, "help": "speed, watch, warm-start: repeats per measurement (default 3)"}),
    "--steps": ("steps", {"type": int, "help": "speed, watch: steps scored; serve-load: steps per request"}),
    "--requests": ("requests", {"type": int, "help": "serve-load: stop after this many requests (default 2000)"}),
    "--clients": ("clients", {"type": int, "help": "serve-load: concurrent clients (default 32)"}),
    "--seconds": ("seconds", {"type": float, "help": "serve-load: or after this many seconds (default 60)"}),
}


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register ``bench SUITE`` on an argparse ``subparsers`` object; its handler returns an exit code."""
    lines = "\n".join(f"  {name:<17} {s.help} (about {s.minutes:g} min)" for name, s in SUITES.items())
    parser = subparsers.add_parser(
        "bench", help="run a benchmark suite and write its JSON + Markdown tables",
        description=f"Run a benchmark suite and write SUITE.json and SUITE.md.\n\nsuites:\n{lines}",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", choices=list(SUITES), metavar="SUITE", help="which suite: " + ", ".join(SUITES))
    parser.add_argument("--out", default="benchmarks/results", help="folder for the results (default "
                        "benchmarks/results)")
    for flag, (_, keywords) in _CLI_OPTIONS.items():
        parser.add_argument(flag, default=None, **keywords)
    parser.add_argument("--quiet", action="store_true", help="no progress lines, only the summary")
    parser.set_defaults(func=run_cli)
    return parser


def run_cli(args: argparse.Namespace) -> int:
    """The ``reconad bench`` handler: run the suite, write the files, print the Markdown tables."""
    from reconad.errors import InputError

    options = {option: getattr(args, flag[2:]) for flag, (option, _) in _CLI_OPTIONS.items()
               if getattr(args, flag[2:]) is not None}
    suite = SUITES[args.suite]
    unknown = [flag for flag, (option, _) in _CLI_OPTIONS.items() if option in options and option not in suite.options]
    if unknown:
        takes = [flag for flag, (option, _) in _CLI_OPTIONS.items() if option in suite.options]
        print(f"error: {args.suite} takes no {', '.join(unknown)}; it takes {', '.join(takes) or 'no options'}",
              file=sys.stderr)
        return 2

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        payload = run_suite(args.suite, args.out, progress=None if args.quiet else progress, **options)
    except (InputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(markdown(args.suite, payload))
    print(f"wrote {Path(args.out) / suite.stem}.json and .md ({payload['seconds']:.0f} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``reconad bench`` without the rest of the command line (what the scripts in ``benchmarks/`` call)."""
    parser = argparse.ArgumentParser(prog="reconad")
    add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)

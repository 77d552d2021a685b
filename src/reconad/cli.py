"""The ``reconad`` command.

Exit codes: 0 success, 1 failure, 2 bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from reconad.errors import InputError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def _demo(args: argparse.Namespace) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    from reconad.demo import run_demo, summary_table

    out = Path(args.out)
    metrics = run_demo(out, quick=args.quick, verbose=not args.quiet)
    print(summary_table(metrics))
    print(f"\nwrote {out}/metrics.json and figures to {out}/")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from reconad import __version__

    parser = argparse.ArgumentParser(
        prog="reconad",
        description="Reconstruction-based anomaly detection for time series and images.",
    )
    parser.add_argument("--version", action="version", version=f"reconad {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser("demo", help="train and evaluate on embedded data (no files needed)",
                               description="Train on the noisy sine, score both protocols, write metrics and "
                                           "figures.")
    demo.add_argument("--out", default="reconad-demo", help="output folder (default: reconad-demo)")
    demo.add_argument("--quick", action="store_true", help="two epochs only (a smoke run)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(func=_demo)
    return parser


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
        print(f"reconad {args.command}: error: {exc}", file=sys.stderr)
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

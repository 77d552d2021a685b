"""``reconad demo``: train and evaluate on embedded data (no files needed); see :mod:`reconad.demo`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from reconad.errors import InputError

EXIT_OK = 0


def run(args: argparse.Namespace) -> int:
    """The ``demo`` handler: run the demo into ``--out`` and print its summary table."""
    out = Path(args.out)
    try:  # before the long imports and the training
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder {out}: {exc.strerror or exc}; choose another --out") from exc
    os.environ.setdefault("MPLBACKEND", "Agg")
    from reconad.demo import run_demo, summary_table

    metrics = run_demo(out, quick=args.quick, verbose=not args.quiet)
    print(summary_table(metrics))
    print(f"\nwrote {out}/report.html, {out}/metrics.json and figures to {out}/")
    return EXIT_OK

"""``reconad experiment``: the course's MNIST grids from the command line (the grids are :mod:`reconad.experiments`).

Parsing imports nothing heavy; the grids, numpy and torch are imported when a run starts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from reconad.errors import InputError


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.replace(" ", ",").split(",") if part]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from exc


def _name_list(text: str) -> list[str]:
    return [part for part in text.replace(" ", ",").split(",") if part]


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register ``experiment {mnist-course, mnist-oneclass}`` on an argparse ``subparsers`` object."""
    parser = subparsers.add_parser("experiment", help="run the course's MNIST experiment grids",
                                   description="Run the course's MNIST experiment grids and write tables.")
    parser.add_argument("name", choices=("mnist-course", "mnist-oneclass"), help="which experiment")
    parser.add_argument("--epochs", type=int, default=5, help="training epochs per run (default 5)")
    parser.add_argument("--seeds", type=_int_list, default=None, help="comma-separated seeds (course: 0,1,2; "
                        "one-class: 0)")
    parser.add_argument("--models", type=_name_list, default=None,
                        help="comma-separated models (course: mlp,deep,conv; one-class: mlp,conv)")
    parser.add_argument("--latent-dims", type=_int_list, default=None,
                        help="comma-separated latent sizes (course: 64,4; one-class: 64)")
    parser.add_argument("--digits", type=_int_list, default=None,
                        help="mnist-oneclass only: the digits to run (default 0-9)")
    parser.add_argument("--data", default=None, help="folder with the MNIST IDX files (default: "
                        "$RECONAD_DATA/mnist or ../shared/data/mnist)")
    parser.add_argument("--out", default="experiments", help="folder for CSV, Markdown and figures")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_cli)
    return parser


def run_cli(args: argparse.Namespace) -> int:
    """The ``reconad experiment`` handler: run the grid, write the files, print the Markdown summary."""
    options = {"epochs": args.epochs, "out_dir": args.out, "verbose": not args.quiet}
    for key in ("seeds", "models", "latent_dims"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    from reconad.course import course_markdown, mnist_course
    from reconad.data.images import load_mnist
    from reconad.experiments import mnist_oneclass, oneclass_markdown

    try:
        data = load_mnist(args.data)
        if args.name == "mnist-course":
            if args.digits is not None:
                raise InputError("--digits applies to mnist-oneclass only")
            table = mnist_course(data=data, **options)
            text = course_markdown(table, len(data.train_images) == 60000 and args.epochs == 5)
        else:
            if args.digits is not None:
                options["digits"] = args.digits
            table = mnist_oneclass(data=data, **options)
            text = oneclass_markdown(table)
    except InputError as exc:
        print(f"error: {exc}")
        return 2
    print(text)
    print(f"wrote {len(table)} runs to {Path(args.out).resolve()}")
    return 0

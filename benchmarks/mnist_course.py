"""Reproduce the lecture slides' MNIST experiments and record them under benchmarks/results/.

Runs exactly what ``reconad experiment mnist-course --out benchmarks/results`` runs (the same handler), so
the committed table is the command's output: anomaly digit 0; normal {1}, {1, 2}, {1, ..., 5}; models mlp,
deep (4 layers) and conv; latent 64 and 4; seeds 0, 1, 2; 5 epochs, batch 32, Adam 1e-3.

    python benchmarks/mnist_course.py [--seeds 0,1,2] [--models mlp,deep,conv] [...]
    python benchmarks/mnist_course.py oneclass [--digits 0,1] [...]

Any further options are passed to the command (``--epochs``, ``--seeds``, ``--models``, ``--latent-dims``,
``--digits``, ``--quiet``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reconad.experiments import add_cli

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str]) -> int:
    name = "mnist-course"
    if argv and argv[0] in ("oneclass", "mnist-oneclass"):
        name, argv = "mnist-oneclass", argv[1:]
    parser = argparse.ArgumentParser(prog="mnist_course.py")
    add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["experiment", name, "--out", str(RESULTS), *argv])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

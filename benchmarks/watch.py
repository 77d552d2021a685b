"""The watch benchmark: ``reconad watch``'s throughput against batch scoring of the same rows, in one run.

The same as ``reconad bench watch``; the logic lives in ``reconad.bench.watch``. Writes
benchmarks/results/watch.json and watch.md; further options are passed on (``--help`` lists them).

    OMP_NUM_THREADS=1 python benchmarks/watch.py [options]
"""

import sys
from pathlib import Path

from reconad.bench import main

RESULTS = Path(__file__).resolve().parent / "results"

if __name__ == "__main__":
    sys.exit(main(["watch", "--out", str(RESULTS), *sys.argv[1:]]))

"""The warm-start benchmark: false alarms after a level shift, before and after ``partial_fit``, and its cost.

The same as ``reconad bench warm-start``; the logic lives in ``reconad.bench.warm_start``. Writes
benchmarks/results/warm_start.json and warm_start.md; further options are passed on (``--help`` lists them).

    OMP_NUM_THREADS=1 python benchmarks/warm_start.py [options]
"""

import sys
from pathlib import Path

from reconad.bench import main

RESULTS = Path(__file__).resolve().parent / "results"

if __name__ == "__main__":
    sys.exit(main(["warm-start", "--out", str(RESULTS), *sys.argv[1:]]))

"""The nab benchmark: NAB with SeriesDetector's defaults next to IsolationForest and PCA window baselines.

The same as ``reconad bench nab``; the logic lives in ``reconad.bench``. Writes
benchmarks/results/nab.json and nab.md; further options are passed on (``--help`` lists them).

    OMP_NUM_THREADS=1 python benchmarks/nab.py [options]
"""

import sys
from pathlib import Path

from reconad.bench import main

RESULTS = Path(__file__).resolve().parent / "results"

if __name__ == "__main__":
    sys.exit(main(["nab", "--out", str(RESULTS), *sys.argv[1:]]))

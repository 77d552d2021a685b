"""The skab benchmark: SKAB with SeriesDetector's defaults next to IsolationForest and PCA window baselines.

The same as ``reconad bench skab``; the logic lives in ``reconad.bench``. Writes
benchmarks/results/skab.json and skab.md; further options are passed on (``--help`` lists them).

    OMP_NUM_THREADS=1 python benchmarks/skab.py [options]
"""

import sys
from pathlib import Path

from reconad.bench import main

RESULTS = Path(__file__).resolve().parent / "results"

if __name__ == "__main__":
    sys.exit(main(["skab", "--out", str(RESULTS), *sys.argv[1:]]))

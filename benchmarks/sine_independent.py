"""The sine-independent benchmark: the defaults on the independent noisy sine, seeds 0-9.

The same as ``reconad bench sine-independent``; the logic lives in ``reconad.bench``. Writes
benchmarks/results/sine_independent.json and sine_independent.md; further options are passed on (``--help`` lists them).

    OMP_NUM_THREADS=1 python benchmarks/sine_independent.py [options]
"""

import sys
from pathlib import Path

from reconad.bench import main

RESULTS = Path(__file__).resolve().parent / "results"

if __name__ == "__main__":
    sys.exit(main(["sine-independent", "--out", str(RESULTS), *sys.argv[1:]]))

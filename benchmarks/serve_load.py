"""The serve-load benchmark: reconad serve under 32 concurrent clients (needs the serve extra).

The same as ``reconad bench serve-load``; the logic lives in ``reconad.bench``. Writes
benchmarks/results/serve_load.json and serve_load.md; further options are passed on (``--help`` lists them).

    OMP_NUM_THREADS=1 python benchmarks/serve_load.py [options]
"""

import sys
from pathlib import Path

from reconad.bench import main

RESULTS = Path(__file__).resolve().parent / "results"

if __name__ == "__main__":
    sys.exit(main(["serve-load", "--out", str(RESULTS), *sys.argv[1:]]))

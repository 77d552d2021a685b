"""The speed benchmark: training speed-up of the recurrent decoder, bounded-memory scoring of 10M steps, streaming.

The same as ``reconad bench speed``; the logic lives in ``reconad.bench``. Writes
benchmarks/results/speed.json and speed.md; further options are passed on (``--help`` lists them).

    OMP_NUM_THREADS=1 python benchmarks/speed.py [options]
"""

import sys
from pathlib import Path

from reconad.bench import main

RESULTS = Path(__file__).resolve().parent / "results"

if __name__ == "__main__":
    sys.exit(main(["speed", "--out", str(RESULTS), *sys.argv[1:]]))

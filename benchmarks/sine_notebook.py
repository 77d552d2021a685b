"""The sine-notebook benchmark: the course notebook's RNN auto-encoder on its own protocol, seeds 223, 0, 1.

The same as ``reconad bench sine-notebook``; the logic lives in ``reconad.bench``. Writes
benchmarks/results/sine_notebook.json and sine_notebook.md; further options are passed on (``--help`` lists them).

    OMP_NUM_THREADS=1 python benchmarks/sine_notebook.py [options]
"""

import sys
from pathlib import Path

from reconad.bench import main

RESULTS = Path(__file__).resolve().parent / "results"

if __name__ == "__main__":
    sys.exit(main(["sine-notebook", "--out", str(RESULTS), *sys.argv[1:]]))

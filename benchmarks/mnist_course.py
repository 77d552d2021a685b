"""The mnist-course benchmark: the lecture slides' MNIST grid (normal digits vs digit 0), seeds 0-2.

The same as ``reconad bench mnist-course``; the logic lives in ``reconad.bench``. Writes
benchmarks/results/mnist_course.json and mnist_course.md; further options are passed on (``--help`` lists them).

    OMP_NUM_THREADS=1 python benchmarks/mnist_course.py [options]
"""

import sys
from pathlib import Path

from reconad.bench import main

RESULTS = Path(__file__).resolve().parent / "results"

if __name__ == "__main__":
    sys.exit(main(["mnist-course", "--out", str(RESULTS), *sys.argv[1:]]))

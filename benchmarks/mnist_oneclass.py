"""The mnist-oneclass benchmark: one-class MNIST with ImageDetector's defaults next to IsolationForest and PCA.

The same as ``reconad bench mnist-oneclass``; the logic lives in ``reconad.bench``. Writes
benchmarks/results/mnist_oneclass.json and mnist_oneclass.md; further options are passed on (``--help`` lists them).

    OMP_NUM_THREADS=1 python benchmarks/mnist_oneclass.py [options]
"""

import sys
from pathlib import Path

from reconad.bench import main

RESULTS = Path(__file__).resolve().parent / "results"

if __name__ == "__main__":
    sys.exit(main(["mnist-oneclass", "--out", str(RESULTS), *sys.argv[1:]]))

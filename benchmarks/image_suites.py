"""The image-suites benchmark: ImageDetector's defaults on textures with defect masks and transformed digits.

The same as ``reconad bench image-suites``; the logic lives in ``reconad.bench.image_suites``. Writes
benchmarks/results/image_suites.json and image_suites.md; further options are passed on (``--help`` lists them).

    OMP_NUM_THREADS=1 python benchmarks/image_suites.py [--files noise-colour ...] [--digits 0 1 ...]
"""

import sys
from pathlib import Path

from reconad.bench import main

RESULTS = Path(__file__).resolve().parent / "results"

if __name__ == "__main__":
    sys.exit(main(["image-suites", "--out", str(RESULTS), *sys.argv[1:]]))

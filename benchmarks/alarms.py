"""The alarms benchmark (issue 34): false alarms per 10,000 rows and how they move with the training stretch.

NAB (three fits per series), SKAB (400-row split, pooled F1 / FAR / MAR) and SKAB's anomaly-free recording, with
SeriesDetector's defaults next to IsolationForest and PCA window baselines. The same as ``reconad bench alarms``;
the logic lives in ``reconad.bench.alarms``. Writes benchmarks/results/alarms.json and alarms.md; further options
are passed on (``--help`` lists them), e.g. ``--thresholds default,pot`` to compare rules on the same fits.

    OMP_NUM_THREADS=1 python benchmarks/alarms.py [options]
"""

import sys
from pathlib import Path

from reconad.bench import main

RESULTS = Path(__file__).resolve().parent / "results"

if __name__ == "__main__":
    sys.exit(main(["alarms", "--out", str(RESULTS), *sys.argv[1:]]))

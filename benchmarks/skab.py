"""The SKAB benchmark with reconad's defaults next to IsolationForest and PCA (see reconad.bench for the protocol).

Run: ``OMP_NUM_THREADS=1 python benchmarks/skab.py`` (the same as ``reconad bench skab``); writes
benchmarks/results/skab.json and skab.md.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

from _common import RESULTS  # noqa: E402

from reconad.bench import run_suite, summary_line  # noqa: E402

if __name__ == "__main__":
    result = run_suite("skab", RESULTS, progress=print)
    for detector, summary in result["summary"].items():
        print(detector, summary_line(summary))

"""How much NAB's mean AUC-PR moves with the seed: reconad's defaults, and with ``context=0``, for a few seeds.

The NAB protocol of ``nab.md`` (reconad only), with ``random_state`` 0 to 5. Writes
benchmarks/results/nab_seeds.json and .md.

    OMP_NUM_THREADS=1 python benchmarks/nab_seeds.py [--seeds 0 1 2 3 4 5]     # about 15 minutes
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, markdown_table, write_results  # noqa: E402

from reconad.bench import bench_nab  # noqa: E402

KEYS = ("auprc", "roc_auc", "oracle_f1", "f1", "event_f1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    args = parser.parse_args()
    logging.getLogger("reconad").setLevel(logging.ERROR)  # short probation periods shrink the window
    began, rows = time.perf_counter(), []
    for context in (None, 0):  # None: the default
        for seed in args.seeds:
            params = {"random_state": seed} | ({} if context is None else {"context": context})
            summary = bench_nab(detectors=["reconad"], params=params)["summary"]["reconad"]
            rows.append({"context": "default" if context is None else context, "seed": seed,
                         **{k: summary[k] for k in KEYS}})
            print(" ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in rows[-1].items()),
                  flush=True)
    body = [[r["context"], r["seed"], *[r[k] for k in KEYS]] for r in rows]
    for context in ("default", 0):
        mine = [r for r in rows if r["context"] == context]
        body.append([f"**{context}: mean**", "", *[float(np.mean([r[k] for r in mine])) for k in KEYS]])
    md = (
        "# NAB across seeds\n\n`OMP_NUM_THREADS=1 python benchmarks/nab_seeds.py`: `nab.md`'s protocol, reconad only, "
        "`SeriesDetector(random_state=seed)` (and with `context=0`). The yardstick is TSB-AD POLY's AUC-PR of "
        "0.390.\n\n"
        + markdown_table(["context", "seed", "AUC-PR", "ROC-AUC", "oracle F1", "label-free F1", "event F1"], body)
    )
    write_results("nab_seeds", {"machine": machine(), "seconds": time.perf_counter() - began, "rows": rows}, md)


if __name__ == "__main__":
    main()

"""Extrapolate the training trend instead of centring: can a drifting sensor's level be read after all?

``drift="auto"`` shows the model the features that drift over the training rows (SKAB's temperature and
thermocouple, and on 320-row training parts sometimes an accelerometer or the flow) centred on each window's mean,
so their creep after training raises no alarm, and a fault that only moves such a feature's level goes unseen
(``skab_centring.md``: 5 files, 1385 missed rows). ``drift=None`` sees those faults and alarms on the creep. This
script tries the middle road: fit a straight line in time to each drifting feature over the 400 training rows
(the mask ``drift="auto"`` finds), subtract its slope from the whole recording, extrapolated past training, and
fit with ``drift=None`` on that: a creep that keeps its training pace is removed, a step is not. No label is read.

Fits, each ``random_state=0`` and scored as ``skab_ensemble.fitted_scores`` does: *defaults*; *drift=None*;
*detrended* (``drift=None`` on the detrended recording) and the same with ``min_scale=0.01``; the
``whole-recording`` *preset* and the preset with ``drift=None`` on the detrended recording. Thresholds: mean + k
std of the calibration scores, *fixed* or *batch* (``BatchSplit``'s rule). Suites and choice rule as
``skab_aggregation.py``: validation and clean choose, SKAB (``skab.md``'s protocol) only reports; the first row
reproduces ``skab.md``.

    OMP_NUM_THREADS=1 python benchmarks/skab_trend.py      # about 7 minutes with 2 workers
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import Counter
from multiprocessing import Pool
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, markdown_table, pct, suite_reads, write_results  # noqa: E402
from skab_aggregation import evaluate  # noqa: E402
from skab_ensemble import choose, fitted_scores  # noqa: E402
from skab_split import all_cases  # noqa: E402

from reconad import SeriesDetector  # noqa: E402
from reconad.bench import TRAIN_ROWS  # noqa: E402

FITS = ("defaults", "drift=None", "detrended", "detrended, min_scale=0.01", "preset", "preset, detrended")
RULES = (("fixed", 4), ("fixed", 6), ("batch", 2), ("batch", 3))


def detrended(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``x`` (T, D) with each masked feature's training slope (a least-squares line over the training rows)
    removed from every row, extrapolated past training; levels at the training part's middle are kept."""
    t = np.arange(len(x), dtype=np.float64)
    out = x.astype(np.float64)
    for j in np.flatnonzero(mask):
        slope = np.polyfit(t[:TRAIN_ROWS], out[:TRAIN_ROWS, j], 1)[0]
        out[:, j] -= slope * (t - TRAIN_ROWS / 2)
    return out.astype(np.float32)


def scores_of(case) -> tuple[str, str, np.ndarray, dict]:
    logging.getLogger("reconad").setLevel(logging.ERROR)  # every 400-row training part shrinks the window
    suite, name, x, y = case
    defaults = SeriesDetector(random_state=0, verbose=False)
    out = {("defaults", "max"): fitted_scores(defaults, x)}
    flat = detrended(x, defaults.drifting_)
    runs = {
        "drift=None": (SeriesDetector(random_state=0, verbose=False, drift=None), x),
        "detrended": (SeriesDetector(random_state=0, verbose=False, drift=None), flat),
        "detrended, min_scale=0.01": (SeriesDetector(random_state=0, verbose=False, drift=None, min_scale=0.01), flat),
        "preset": (SeriesDetector.from_preset("whole-recording", random_state=0, verbose=False), x),
        "preset, detrended": (SeriesDetector.from_preset("whole-recording", random_state=0, verbose=False, drift=None),
                              flat),
    }
    for fit, (det, series) in runs.items():
        out[fit, "max"] = fitted_scores(det, series)
    return suite, name, y[TRAIN_ROWS:], out


def main() -> None:
    began = time.perf_counter()
    with Pool(2) as pool:
        done = list(pool.imap(scores_of, all_cases()))
    rows = [evaluate(done, fit, "max", rule, k) for fit in FITS for rule, k in RULES]
    default = rows[0]
    chosen = choose(rows, default)

    def reads(r: dict) -> str:
        return suite_reads(f"{r['fit']}, {r['rule']}, k={r['k']}", r)

    header = ["fit", "rule", "k", "validation F1", "validation FAR", "clean FAR", "SKAB F1", "SKAB FAR", "SKAB MAR",
              "SKAB oracle F1 at pooled FAR 10%"]
    body = [[r["fit"], r["rule"], r["k"], r["validation"]["f1"], pct(r["validation"]["far"]), pct(r["clean"]["far"]),
             r["SKAB"]["f1"], pct(r["SKAB"]["far"]), pct(r["SKAB"]["mar"]), r["SKAB ceiling"]] for r in rows]
    counts = Counter(s for s, *_ in done)
    md = (
        "# SKAB: extrapolating the training trend instead of centring drifting sensors\n\n"
        "`OMP_NUM_THREADS=1 python benchmarks/skab_trend.py`. *detrended*: each feature `drift=\"auto\"` calls "
        "drifting loses its training slope (a least-squares line over the 400 training rows, extrapolated over the "
        "whole recording), and the detector fits with `drift=None` on that; *preset* is "
        "`SeriesDetector.from_preset(\"whole-recording\")`; every fit `random_state=0`. Threshold: mean + k std of "
        "the calibration scores (the last 80 training rows), *fixed* or *batch* (`BatchSplit`'s rule). Validation: "
        f"{counts['validation']} cases of `skab_validation.py` and {counts['clean']} *clean* segments; SKAB: the "
        f"{counts['SKAB']} files, `skab.md`'s protocol, reporting only. The oracle column reads SKAB's labels: the "
        "best pooled F1 of any threshold per file with at most 10% false alarms pooled.\n\n"
        + markdown_table(header, body)
        + "\nChosen on validation alone by `skab_split.py`'s rule (the highest validation F1 among the rows whose "
        f"validation FAR and clean FAR are no higher than the defaults'): {reads(chosen)}. The defaults: "
        f"{reads(default)}. The target is F1 >= 0.85 at FAR <= 10%.\n"
    )
    payload = {"machine": machine(), "cases": dict(counts), "rows": rows,
               "chosen": {k: chosen[k] for k in ("fit", "rule", "k")}, "seconds": time.perf_counter() - began}
    write_results("skab_trend", payload, md)
    print(md)


if __name__ == "__main__":
    main()

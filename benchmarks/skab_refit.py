"""Self-training on the scored recording: can a second pass, taught the rows the first pass left quiet, close
SKAB's gap?

SKAB's false alarms come from normal rows that have moved on since the 400 training rows (the rig warms up,
settles into a new state); its misses, partly, from faults in sensors ``drift="auto"`` centres to forgive that
movement. A transductive second pass is the textbook answer to the first: fit the detector on the training rows
(*pass 1*), flag the recording label-free, then train a fresh model on the training windows *plus* every window
of the recording that lies wholly in rows pass 1 left unflagged and at least ``gap`` rows from any flag (*pass 2*:
the same scaler, drift mask, window, stride, epochs and seed; its threshold refitted on the same held-out
calibration tail), and flag again. No label is read to do it. Measured with the defaults and with
``drift=None, min_scale=0.01`` (which sees the faults centring hides, and pays for it in false alarms), on the
label-free validation suite of ``skab_split.py`` (64 cases with one injected anomaly, 8 clean segments) and on
SKAB's protocol (``skab.md``). Every other parameter is the default (``random_state=0``).

    OMP_NUM_THREADS=1 python benchmarks/skab_refit.py    # about 10 minutes with 2 workers
"""

from __future__ import annotations

import logging
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, markdown_table, pooled, write_results  # noqa: E402
from skab_split import all_cases  # noqa: E402

from reconad import SeriesDetector  # noqa: E402
from reconad.bench import TRAIN_ROWS  # noqa: E402
from reconad.data.windows import gather_windows, window_starts  # noqa: E402
from reconad.training import TrainConfig  # noqa: E402

FITS = {"defaults": {}, "drift=None, min_scale=0.01": {"drift": None, "min_scale": 0.01}}
GAPS = (10, 50)  # rows kept between a pass-1 flag and any window pass 2 learns from
FITTED = ("window_", "scaler_", "drifting_", "stride_", "seed_", "device_", "n_features_in_", "feature_names_in_")


def second_pass(det: SeriesDetector, x: np.ndarray, flags: np.ndarray, gap: int) -> tuple[SeriesDetector, int]:
    """A fresh model trained on ``det``'s training windows plus the quiet windows of the scored rows of ``x``
    (``flags`` (T - TRAIN_ROWS,): pass 1's), with ``det``'s scaling, drift mask and shapes; and how many quiet
    windows it added."""
    width = det.window_
    near_flag = np.convolve(flags.astype(float), np.ones(2 * gap + 1), mode="same") > 0  # (T',)
    train, calibration = det._split(x[:TRAIN_ROWS])
    rows = np.concatenate([det._scale(train), det._scale(x[TRAIN_ROWS:])]).astype(np.float32)  # (T'', D)
    quiet = np.concatenate([[0], np.cumsum(~near_flag)])
    wholly_quiet = np.flatnonzero(quiet[width:] - quiet[:-width] == width)  # window starts within the scored rows
    added = len(train) + wholly_quiet[:: det.stride_]
    starts = np.concatenate([window_starts(len(train), width, det.stride_), added])
    again = SeriesDetector(**det.get_params())
    for name in FITTED:
        setattr(again, name, getattr(det, name))
    config = TrainConfig(again.epochs, again.batch_size, again.lr, again.checkpoint, None, False, again.precision)
    again._train(lambda index: torch.from_numpy(gather_windows(rows, starts[index], width)), len(starts), config,
                 None)
    again._fit_threshold(again._score_scaled(again.model_, again._scale(calibration)), "held-out tail")
    return again, len(added)


def flags_of(job: tuple[str, tuple]) -> tuple[str, str, np.ndarray, dict, dict]:
    """Pass 1's and each pass 2's label-free flags on the scored rows of one case, and the windows pass 2 added."""
    logging.getLogger("reconad").setLevel(logging.ERROR)  # every 400-row training part shrinks the window
    fit, (suite, name, x, y) = job
    det = SeriesDetector(random_state=0, verbose=False, **FITS[fit]).fit(x[:TRAIN_ROWS])
    first = det.threshold_.predict(det.anomaly_score(x)[TRAIN_ROWS:]).astype(bool)  # one batch, as SKAB's protocol
    out, added = {"pass 1": first}, {}
    for gap in GAPS:
        again, added[gap] = second_pass(det, x, first, gap)
        out[f"pass 2, gap {gap}"] = again.threshold_.predict(again.anomaly_score(x)[TRAIN_ROWS:]).astype(bool)
    return fit, suite, y[TRAIN_ROWS:].astype(bool), out, added


def main() -> None:
    began = time.perf_counter()
    cases = all_cases()
    with Pool(2) as pool:
        done = pool.map(flags_of, [(fit, case) for fit in FITS for case in cases])
    passes = list(done[0][3])
    results, rows = {}, []

    def pct(v):
        return f"{100 * v:.1f}%"

    for fit in FITS:
        for variant in passes:
            row = {suite: pooled((y, out[variant]) for f, s, y, out, _ in done if f == fit and s == suite)
                   for suite in ("validation", "clean", "SKAB")}
            results[f"{fit} | {variant}"] = row
            rows.append([fit, variant, row["validation"]["f1"], pct(row["validation"]["far"]),
                         pct(row["clean"]["far"]), row["SKAB"]["f1"], pct(row["SKAB"]["far"]),
                         pct(row["SKAB"]["mar"])])
            print(" | ".join(str(c) for c in rows[-1]), flush=True)
    added = {gap: int(np.median([a[gap] for f, s, y, out, a in done if s == "SKAB"])) for gap in GAPS}
    drops = [results[f"{fit} | pass 1"]["validation"]["f1"] - results[f"{fit} | {variant}"]["validation"]["f1"]
             for fit in FITS for variant in passes if variant != "pass 1"]
    best = max((r for r in rows if r[1] != "pass 1" and float(r[6][:-1]) <= 10.0), key=lambda r: r[5], default=None)
    markdown = (
        "# SKAB: self-training on the scored recording\n\n"
        "`OMP_NUM_THREADS=1 python benchmarks/skab_refit.py`. *Pass 1*: the detector fitted on the first 400 rows "
        "(`random_state=0`), the rows after them flagged label-free as one batch. *Pass 2, gap g*: a fresh model "
        "trained on pass 1's training windows plus every window of the scored rows that lies wholly in rows pass 1 "
        "left unflagged and at least g rows from any of its flags (same scaler, drift mask, window, stride, epochs "
        "and seed; threshold refitted on the same held-out tail), then flagging again. On SKAB pass 2 adds a "
        + ", ".join(f"median {added[g]} windows (gap {g})" for g in GAPS)
        + " to the training part's. Validation: `skab_split.py`'s 64 label-free cases and 8 clean segments (every "
        "flag a false alarm); SKAB: `skab.md`'s protocol, pooled over the 34 files.\n\n"
        + markdown_table(["fit", "pass", "validation F1", "validation FAR", "clean FAR", "SKAB F1", "SKAB FAR",
                          "SKAB MAR"], rows)
        + "\nPass 2 lowers the false alarms on every suite, and the recall with them (on the validation suite most "
        f"of all, where its F1 falls by {min(drops):.2f}-{max(drops):.2f}): the trade stays on the frontier the "
        "threshold rules of `skab_calibration.py` and `skab_scores.py` trace. "
        + ("No pass 2 row keeps SKAB's FAR at or below 10%." if best is None else
           f"The best pass 2 row with SKAB's FAR at or below 10% reads {best[5]:.3f} at FAR {best[6]} "
           f"({best[0]}, {best[1]}).")
        + " The issue's target is F1 >= 0.85 at FAR <= 10%.\n"
    )
    payload = {"machine": machine(), "seconds": time.perf_counter() - began, "added_windows_median": added,
               "results": results}
    for path in write_results("skab_refit", payload, markdown):
        print("wrote", path)


if __name__ == "__main__":
    main()

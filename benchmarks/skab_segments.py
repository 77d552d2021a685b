"""Flag segments, not steps: the score cut into stretches of constant level before it is thresholded.

``skab_null.py`` and ``skab_members.py`` threshold each step's score; a fault's weak start and a normal stretch's
bumps are decided step by step. SKAB's faults are regimes (a valve closed, a rotor unbalanced): they begin and end at
change points. This script asks whether deciding per *segment* buys what per-step rules could not. The log of each
recording's combined score (``skab_members.py``'s member sets: the ``whole-recording`` auto-encoder alone, and paired
with the PCA or the linear forecast by the geometric mean) is segmented by PELT with a squared-error cost (the
``ruptures`` library; segments of at least 10 steps, candidate breaks every 5), the penalty ``beta`` times the
variance of the member's log calibration scores times ``log(T)``; each step's score is then replaced by its segment's
mean, and ``skab_null.py``'s rules flag it (*fixed*: above the floor; *otsu*; *null c*). The floor, mean + ``k`` std
of the calibration scores, only shifts the log scores, so the segments do not depend on ``k``.

No label is read to choose: ``skab_split.py``'s rule picks on the validation suite (the best validation F1 among the
rows whose validation FAR and clean FAR are no higher than the defaults'). SKAB's labels only report; the best row
read off them is an *oracle*. The idea was tried in a scratch run on SKAB before this script was written.

    pip install ruptures                                   # the benchmark extra: pip install -e '.[bench]'
    OMP_NUM_THREADS=1 python benchmarks/skab_segments.py   # about 5 minutes with 2 workers
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
from _common import brief, machine, markdown_table, picks, pooled, verdict, write_results  # noqa: E402
from skab_members import scored  # noqa: E402
from skab_null import evaluate, null_flags  # noqa: E402
from skab_split import all_cases  # noqa: E402

SETS = ("AE", "AE + PCA s31", "AE + VAR s31")
BETAS = (None, 2, 5, 10, 20, 50)  # None: the step scores as they are (skab_null.py's rows)
KS = (2, 3, 4)
RULES = (("fixed", 0), ("otsu", 0), ("null", 3), ("null", 4))
MIN_SIZE = 10
JUMP = 5


def piecewise(logs: np.ndarray, spread: float, beta: float) -> np.ndarray:
    """``logs`` (T,) replaced by the mean of its PELT segment: (T,)."""
    import ruptures

    breaks = ruptures.Pelt(model="l2", min_size=MIN_SIZE, jump=JUMP).fit(logs[:, None]).predict(
        pen=beta * spread**2 * np.log(len(logs)))
    out = np.empty_like(logs)
    start = 0
    for end in breaks:  # the last break is len(logs)
        out[start:end] = logs[start:end].mean()
        start = end
    return out


def segmented(case) -> tuple[str, str, np.ndarray, dict, dict]:
    """``skab_members.py``'s members of one case, and per member set and ``beta`` the piecewise mean log score
    (before the floor) with each member's (calibration mean, std) to place floors."""
    logging.getLogger("reconad").setLevel(logging.ERROR)
    suite, name, y, out = scored(case)
    pieces = {}
    for members in SETS:
        names = members.split(" + ")
        logs = np.mean([np.log(np.maximum(out[m][0], 1e-12)) for m in names], axis=0)  # (T,)
        spread = float(np.std(np.mean([np.log(np.maximum(out[m][1], 1e-12)) for m in names], axis=0)))
        for beta in BETAS[1:]:
            pieces[members, beta] = piecewise(logs, spread, beta)
    return suite, name, y, out, pieces


def row_of(done, members: str, beta, k: float, rule: str, c: float) -> dict:
    if beta is None:
        return {**evaluate([d[:4] for d in done], members, k, rule, c), "beta": None}
    row = {"members": members, "k": k, "rule": rule, "c": c, "growth": None, "beta": beta}
    for suite in ("validation", "clean", "SKAB"):
        pairs = []
        for s, _, y, out, pieces in done:
            if s == suite:
                floors = [out[m][1].mean() + k * out[m][1].std() for m in members.split(" + ")]
                value = np.exp(pieces[members, beta] - np.mean(np.log(np.maximum(floors, 1e-12))))
                pairs.append((y, value > 1.0 if rule == "fixed" else null_flags(value, rule, c)))
        row[suite] = pooled(pairs)
    return row


def name(r: dict) -> str:
    cut = r["rule"] + (f" c={r['c']}" if r["rule"] == "null" else "")
    return f"{r['members']}, k={r['k']}, {cut}, " + ("per step" if r["beta"] is None else f"beta={r['beta']}")


def main() -> None:
    began = time.perf_counter()
    with Pool(2) as pool:
        done = list(pool.imap(segmented, all_cases()))
    default = evaluate([d[:4] for d in done], "AE (defaults)", 4, "fixed", 0)
    rows = [row_of(done, m, b, k, r, c) for m in SETS for b in BETAS for k in KS for r, c in RULES]
    chosen, best_read = picks(rows, default)  # on validation alone; and read off SKAB's labels, an oracle

    table = []
    for m in SETS:
        for segments in ("per step", "segments"):
            mine = [r for r in rows if r["members"] == m and (r["beta"] is None) == (segments == "per step")]
            table.append([m, segments, *(brief(r, name) for r in picks(mine, default))])
    counts = Counter(s for s, *_ in done)
    md = (
        "# SKAB: flagging segments of constant score instead of steps\n\n"
        "`OMP_NUM_THREADS=1 python benchmarks/skab_segments.py` (needs `ruptures`). Each recording's combined log "
        f"score cut by PELT (squared-error cost, segments >= {MIN_SIZE} steps, penalty beta x the calibration log "
        "scores' variance x log T), each step given its segment's mean, then flagged by `skab_null.py`'s rules "
        "(*fixed*: above the floor, mean + k std of the calibration scores; *otsu*; *null c*). *Per step*: the same "
        f"rules on the unsegmented scores. Validation: {counts['validation']} cases of `skab_validation.py` and "
        f"{counts['clean']} clean segments; SKAB: the {counts['SKAB']} files, reporting only. {len(rows)} rows; all "
        "of them are in the JSON.\n\n"
        "Per member set, per step and segmented: the row `skab_split.py`'s rule picks on validation alone (the "
        "highest validation F1 with validation and clean FAR no higher than the defaults'), and the best SKAB F1 at "
        "FAR <= 10% (*oracle*: read off SKAB's labels). SKAB F1 / FAR first.\n\n"
        + markdown_table(["members", "scores", "chosen on validation", "best at FAR <= 10% (oracle)"], table)
        + "\n" + verdict(chosen, default, best_read, name) + "\n"
    )
    keys = ("members", "beta", "k", "rule", "c")
    payload = {"machine": machine(), "cases": dict(counts), "defaults": default, "rows": rows,
               "chosen": {k: chosen[k] for k in keys}, "best_read_off_skab": {k: best_read[k] for k in keys},
               "seconds": time.perf_counter() - began}
    write_results("skab_segments", payload, md)
    print(md)


if __name__ == "__main__":
    main()

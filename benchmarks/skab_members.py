"""Other second members beside the auto-encoder: a linear forecast, nearest neighbours, rolling spread, differences.

``skab_ensemble.py`` paired the ``whole-recording`` auto-encoder with a linear reconstruction (``bench``'s PCA) and
moved SKAB's frontier by 0.02-0.03 of F1; ``skab_null.py`` read the cut off the recording's quiet rows. Both stopped
short of 0.85 at FAR <= 10%. This script asks whether a member that reads the sensors differently moves the
frontier further. Four members, each fitted on the first 320 training rows (standardised with their mean and std)
and scored on the rows after the 400 training rows and on its calibration tail (rows 320-400), as the PCA member is:

- *VAR*: a linear forecast (ridge regression, ``alpha=1``) of each step's eight sensors from the previous ``LAGS``
  steps; a step's score is the mean over sensors of its squared forecast error over the training error's variance.
  It reads dynamics and the links between sensors, as an MSET or a Kalman residual does.
- *kNN*: a 16-step window's squared distance to the nearest training window, folded per step as ``bench`` folds.
- *rolling spread*: each sensor's log standard deviation over 16 steps, squared z-score against the training
  windows', mean over sensors (vibration and noise that change without moving a level).
- *dPCA*: ``bench``'s PCA on windows of first differences, blind to a level's drift.

Every member is then averaged over 31 centred steps, as the preset's and the PCA's scores are (``VAR s1``: the
forecast as it is). Member sets: each alone, the auto-encoder (``AE``: the preset) with each (the geometric mean of
the score ratios, ``skab_ensemble.py``), ``AE + PCA s31 + VAR s31`` and ``PCA s31 + VAR s31``. Rules: ``skab_null.py``'s
*otsu* and *null* cuts with its growing (``g`` std above the quiet group's mean, optionally above the floor too),
for floors ``k`` = 2-4. No label is read to choose: ``skab_split.py``'s rule picks on the validation suite, the best
validation F1 among the rows whose validation FAR and clean FAR are no higher than the defaults'. SKAB's labels
only report; the best row read off them is an *oracle*, and so is the ceiling column (the best pooled F1 of any
threshold per file at pooled FAR 10%). The members were tried in a scratch run before this script was written, so the
idea of each is not blind to SKAB; every one tried is reported here.

    OMP_NUM_THREADS=1 python benchmarks/skab_members.py      # about 4 minutes with 2 workers
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from multiprocessing import Pool
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.ndimage import uniform_filter1d  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402
from sklearn.neighbors import NearestNeighbors  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import brief, machine, markdown_table, picks, verdict, write_results  # noqa: E402
from skab_ensemble import members_of, ratio  # noqa: E402
from skab_null import evaluate  # noqa: E402
from skab_split import all_cases  # noqa: E402

from reconad.bench import TRAIN_ROWS, oracle_confusion_pooled_far, rates  # noqa: E402
from reconad.data.windows import fold_windows, sliding_windows  # noqa: E402
from reconad.metrics import auprc  # noqa: E402

FIT_ROWS = 320  # the rows the auto-encoders and the PCA fit on; 320-400 is the calibration tail
WINDOW = 16  # as bench's baselines
LAGS = 8
SMOOTH = 31
SETS = ("AE", "PCA s31", "VAR s31", "kNN s31", "spread s31", "dPCA s31", "AE + PCA s31", "AE + VAR s31", "AE + VAR s1",
        "AE + kNN s31", "AE + spread s31", "AE + dPCA s31", "AE + PCA s31 + VAR s31", "PCA s31 + VAR s31")
KS = (2, 3, 4)
RULES = (("otsu", 0), ("null", 3), ("null", 4), ("null", 5))
GROWTH = (None, (0.5, False), (1, False), (1, True), (0, True))  # skab_null.py's growing: (g, above the floor too)
KINDS = ("shift", "noise", "drift", "oscillation")  # skab_validation.py's injected anomalies, named in each case


def per_step(per_window: np.ndarray, length: int) -> np.ndarray:
    """A window's score given to each of its steps, averaged where windows overlap: (N,) -> (length,)."""
    values = np.repeat(per_window[:, None], WINDOW, axis=1)  # (N, W)
    return fold_windows(values, np.arange(len(per_window)), length)


def flat(z: np.ndarray) -> np.ndarray:
    return sliding_windows(z, WINDOW).reshape(-1, WINDOW * z.shape[1])  # (N, W * D)


def var_member(z: np.ndarray):
    """Squared one-step forecast errors of a ridge regression on the previous ``LAGS`` steps, per training variance."""
    def design(seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lagged = np.concatenate([seg[LAGS - i - 1 : len(seg) - i - 1] for i in range(LAGS)], axis=1)  # (T-L, L*D)
        return lagged, seg[LAGS:]

    inputs, targets = design(z[:FIT_ROWS])
    model = Ridge(alpha=1.0).fit(inputs, targets)
    spread = (targets - model.predict(inputs)).std(axis=0) + 1e-6  # (D,)

    def score(seg: np.ndarray) -> np.ndarray:
        inputs, targets = design(seg)
        step = (((targets - model.predict(inputs)) / spread) ** 2).mean(axis=1)  # (T-L,)
        return np.concatenate([np.full(LAGS, step[:LAGS].mean()), step])  # the first steps have no forecast

    return score


def knn_member(z: np.ndarray):
    neighbours = NearestNeighbors(n_neighbors=1).fit(flat(z[:FIT_ROWS]))
    return lambda seg: per_step(neighbours.kneighbors(flat(seg))[0][:, 0] ** 2, len(seg))


def spread_member(z: np.ndarray):
    def log_std(seg: np.ndarray) -> np.ndarray:
        return np.log(sliding_windows(seg, WINDOW).std(axis=1) + 1e-3)  # (N, D)

    train = log_std(z[:FIT_ROWS])
    mean, std = train.mean(axis=0), train.std(axis=0) + 1e-6
    return lambda seg: per_step((((log_std(seg) - mean) / std) ** 2).mean(axis=1), len(seg))


def dpca_member(z: np.ndarray):
    def diffs(seg: np.ndarray) -> np.ndarray:
        d = np.diff(seg, axis=0)
        return np.concatenate([d[:1], d])  # (T, D): the first step repeats the second's difference

    scaler = StandardScaler().fit(diffs(z[:FIT_ROWS]))
    pca = PCA(n_components=0.95, svd_solver="full").fit(flat(scaler.transform(diffs(z[:FIT_ROWS]))))

    def score(seg: np.ndarray) -> np.ndarray:
        windows = flat(scaler.transform(diffs(seg)))
        return per_step(((pca.inverse_transform(pca.transform(windows)) - windows) ** 2).mean(axis=1), len(seg))

    return score


NEW = {"VAR": var_member, "kNN": knn_member, "spread": spread_member, "dPCA": dpca_member}


def scored(case) -> tuple[str, str, np.ndarray, dict]:
    """``skab_ensemble.py``'s members of one case, plus this script's: (test scores, calibration scores) each."""
    suite, name, y, out = members_of(case)
    x = np.asarray(case[2], dtype=np.float64)
    z = StandardScaler().fit(x[:FIT_ROWS]).transform(x)
    for member, make in NEW.items():
        score = make(z)
        raw = (score(z)[TRAIN_ROWS:], score(z[FIT_ROWS:TRAIN_ROWS]))
        if member == "VAR":
            out["VAR s1"] = raw
        out[f"{member} s{SMOOTH}"] = tuple(uniform_filter1d(v, SMOOTH, mode="nearest") for v in raw)
    return suite, name, y, out


def ceiling(done, members: str) -> float:
    """The best pooled F1 of any threshold per SKAB file at pooled FAR 10% (*oracle*) on a member set's combined
    ratios. A floor divides each file's ratios by a constant, so the ceiling does not depend on ``k``."""
    values = [(y, np.exp(np.mean([np.log(ratio(*out[m], KS[0])) for m in members.split(" + ")], axis=0)))
              for s, _, y, out in done if s == "SKAB"]
    return rates(oracle_confusion_pooled_far(*zip(*values)))["f1"]


def name(r: dict) -> str:
    growth = ""
    if r["growth"] is not None:
        g, floor = r["growth"]
        growth = f", grown g={g}" + (" above the floor" if floor else "")
    return f"{r['members']}, k={r['k']}, {r['rule']}" + (f" c={r['c']}" if r["rule"] == "null" else "") + growth


def main() -> None:
    began = time.perf_counter()
    with Pool(2) as pool:
        done = list(pool.imap(scored, all_cases()))
    default = evaluate(done, "AE (defaults)", 4, "fixed", 0)  # the detector's defaults: skab.md's row
    rows = [evaluate(done, m, k, r, c, g) for m in SETS for k in KS for r, c in RULES for g in GROWTH]
    ceilings = {m: ceiling(done, m) for m in SETS}
    chosen, best_read = picks(rows, default)  # on validation alone; and read off SKAB's labels, an oracle

    table = []
    for m in SETS:
        on_validation, read_off = picks([r for r in rows if r["members"] == m], default)
        table.append([f"**{m}**" if m == chosen["members"] else m, ceilings[m],
                      brief(on_validation, name), brief(read_off, name)])
    singles = [m for m in SETS if " + " not in m]
    kinds = [[kind, *(float(np.mean([auprc(y, out[m][0]) for s, n, y, out in done
                                     if s == "validation" and f"-{kind}-" in n])) for m in singles)]
             for kind in KINDS]  # which injected anomalies each member reads: mean AUPRC on the validation cases
    counts = Counter(s for s, *_ in done)
    md = (
        "# SKAB: other second members beside the auto-encoder\n\n"
        "`OMP_NUM_THREADS=1 python benchmarks/skab_members.py`. *AE*: `SeriesDetector.from_preset(\"whole-recording\", "
        "random_state=0)`; *PCA*: `reconad.bench`'s PCA baseline; *VAR*: a ridge forecast of each step from the "
        f"previous {LAGS}; *kNN*: a 16-step window's squared distance to the nearest training window; *spread*: each "
        "sensor's log std over 16 steps against training; *dPCA*: the PCA on first differences; *s31*: averaged over "
        "31 centred steps. Each member's score over its floor (mean + k std of its calibration scores), combined by "
        "the geometric mean, flagged by `skab_null.py`'s rules (*otsu*, *null c*, optionally grown). Validation: "
        f"{counts['validation']} cases of `skab_validation.py` and {counts['clean']} clean segments; SKAB: the "
        f"{counts['SKAB']} files, reporting only. {len(rows)} rows; all of them are in the JSON.\n\n"
        "Per member set: the ceiling (*oracle*: the best pooled F1 of any threshold per file at pooled FAR 10%), the "
        "row `skab_split.py`'s rule picks from that set's rows on validation alone (the highest validation F1 with "
        "validation and clean FAR no higher than the defaults'), and the best SKAB F1 of the set's rows at FAR <= 10% "
        "(*oracle*: read off SKAB's labels). SKAB F1 / FAR first.\n\n"
        + markdown_table(["members", "SKAB ceiling", "chosen on validation", "best at FAR <= 10% (oracle)"], table)
        + "\n" + verdict(chosen, default, best_read, name) + "\n\n"
        "## Which injected anomalies each member reads\n\n"
        "Mean AUPRC of each member's scores over the validation cases of each kind (16 each; about half of a case's "
        "scored rows are anomalous, so a score that reads nothing sits near 0.5).\n\n"
        + markdown_table(["injected", *singles], kinds)
    )
    keys = ("members", "k", "rule", "c", "growth")
    payload = {"machine": machine(), "cases": dict(counts), "defaults": default, "ceilings": ceilings, "rows": rows,
               "validation_auprc_by_kind": {kind: dict(zip(singles, cells)) for kind, *cells in kinds},
               "chosen": {k: chosen[k] for k in keys}, "best_read_off_skab": {k: best_read[k] for k in keys},
               "seconds": time.perf_counter() - began}
    write_results("skab_members", payload, md)
    print(md)


if __name__ == "__main__":
    main()

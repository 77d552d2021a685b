"""Is SKAB's gap in the scores or in the threshold? Score post-processing variants, measured on both SKAB suites.

Issue 6 asks for a label-free pooled F1 >= 0.85 with FAR <= 10% on SKAB. This script fits reconad's defaults
once per case (``random_state=0``) and then varies only what happens after the reconstruction errors:

- *how the features combine*: ``score`` is the defaults' (max over features per window, then folded); ``mean``
  and ``max`` fold each feature's error first (``explain``) and then take the mean or the max; ``max / cal`` first
  divides each feature's error by its mean on the calibration tail (so a noisy sensor cannot dominate);
- *smoothing*: a centred moving average of 5 (the default), 9, 15, 31 or 101 steps;
- *threshold*: mean + k standard deviations of the calibration tail's scores, k = 4 (the default), 5 or 6;
- *hysteresis* (a second table): a run of steps above a lower level (mean + 1, 2 or 3 std) is flagged whole when
  any of its steps is above the upper one (mean + 4, 6 or 8 std). Two-level flags hold an alarm through the dips
  inside a long anomaly, so they can lower the misses without raising the threshold's false alarms; they are not
  a threshold on the scores, so the oracle column does not bound them.

Each variant is measured on SKAB's benchmark files (``skab.md``'s protocol: pooled F1 / FAR / MAR, two oracle
F1s at 10% false alarms, mean AUC-PR) and on the validation suite of ``skab_validation.py`` (SKAB's anomaly-free
recording with injected anomalies, which never reads the benchmark's labels: mean AUPRC, pooled F1 / FAR). The
first row (``score``, smooth 5, k 4) is exactly the defaults with ``context=0``: it reproduces ``skab.md``'s
F1 / FAR / MAR, which ``context`` never changes (its AUC-PR and oracle columns are those without ``context``).

    OMP_NUM_THREADS=1 python benchmarks/skab_scores.py        # about 4 minutes on 2 cores
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.ndimage import label as runs  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, markdown_table, write_results  # noqa: E402
from skab_validation import TRAIN, cases  # noqa: E402

from reconad import SeriesDetector  # noqa: E402
from reconad.bench import confusion, oracle_confusion_at_far, oracle_confusion_pooled_far, rates  # noqa: E402
from reconad.data import load_skab_file  # noqa: E402
from reconad.data.skab import skab_files  # noqa: E402
from reconad.detector import centred_moving_average  # noqa: E402
from reconad.metrics import auprc  # noqa: E402
from reconad.thresholds import MeanStd  # noqa: E402

COMBINE = ("score", "max", "mean", "max / cal")
SMOOTH = (5, 9, 15, 31, 101)
KS = (4.0, 5.0, 6.0)


def raw_errors(x: np.ndarray) -> dict:
    """Fit the defaults (unsmoothed) on the first ``TRAIN`` rows; the raw scores of the calibration tail and of ``x``.

    Per combination, a ``(calibration, whole series)`` pair of unsmoothed scores. The calibration tail is scored on
    its own, as ``fit`` scores it.
    """
    det = SeriesDetector(random_state=0, smooth=1, context=0, verbose=False).fit(x[:TRAIN])
    cal_rows = x[TRAIN - det._n_calibration(TRAIN) : TRAIN]  # the tail fit held out
    per_feature = det.explain(cal_rows), det.explain(x)  # (n_cal, D), (T, D)
    level = per_feature[0].mean(axis=0) + 1e-12  # (D,) each feature's calibration error
    return {
        "score": (det.anomaly_score(cal_rows), det.anomaly_score(x)),
        "max": tuple(e.max(axis=1) for e in per_feature),
        "mean": tuple(e.mean(axis=1) for e in per_feature),
        "max / cal": tuple((e / level).max(axis=1) for e in per_feature),
    }


def smoothed(raw: np.ndarray, size: int) -> np.ndarray:
    return centred_moving_average(raw, 0, 0, len(raw), len(raw), size)


def measure(suite: list[tuple[dict, np.ndarray]], combine: str, size: int, k: float) -> dict:
    """Pooled F1 / FAR / MAR, the two oracle F1s at 10% false alarms and the mean AUC-PR of one variant."""
    pooled, oracle, aps, scored = Counter(), Counter(), [], []
    for errors, labels in suite:
        cal, whole = (smoothed(e, size) for e in errors[combine])
        scores, y = whole[TRAIN:], labels[TRAIN:]
        pooled.update(confusion(y, MeanStd(k).fit(cal).predict(scores)))
        oracle.update(oracle_confusion_at_far(y, scores))
        aps.append(auprc(y, scores))
        scored.append((y, scores))
    mine = rates(pooled)
    return {"f1": mine["f1"], "far": mine["far"], "mar": mine["mar"], "oracle_f1_at_far": rates(oracle)["f1"],
            "ceiling_f1_at_far": rates(oracle_confusion_pooled_far(*zip(*scored)))["f1"],
            "auprc": float(np.mean(aps))}


def hysteresis(scores: np.ndarray, upper: float, lower: float) -> np.ndarray:
    """Flags of the runs of ``scores > lower`` that hold at least one step above ``upper``."""
    ids, _ = runs(scores > lower)  # (T,) run number of each step above `lower`, 0 elsewhere
    keep = np.unique(ids[scores > upper])
    return np.isin(ids, keep[keep > 0])


def measure_hysteresis(suite: list[tuple[dict, np.ndarray]], size: int, upper: float, lower: float) -> dict:
    """Pooled F1 / FAR / MAR of two-level flags on the defaults' scores (``score``, smoothed over ``size``)."""
    pooled = Counter()
    for errors, labels in suite:
        cal, whole = (smoothed(e, size) for e in errors["score"])
        high, low = (MeanStd(k).fit(cal).value_ for k in (upper, lower))
        pooled.update(confusion(labels[TRAIN:], hysteresis(whole[TRAIN:], high, low)))
    return {k: v for k, v in rates(pooled).items() if k in ("f1", "far", "mar")}


def main() -> None:
    logging.getLogger("reconad").setLevel(logging.ERROR)  # every 400-row training part shrinks the window
    began = time.perf_counter()
    skab, validation = [], []
    for name in skab_files():
        recording = load_skab_file(name)
        x = recording.features.to_numpy(dtype=np.float32)
        skab.append((raw_errors(x), np.asarray(recording.labels)))
    print(f"SKAB: {len(skab)} files fitted", flush=True)
    for _, x, labels in cases():
        validation.append((raw_errors(x), labels))
    print(f"validation: {len(validation)} cases fitted", flush=True)

    variants = [(c, 5, 4.0) for c in COMBINE] + [("score", s, 4.0) for s in SMOOTH[1:]]
    variants += [("mean", s, 4.0) for s in SMOOTH[1:]] + [("score", s, k) for s in (5, 9, 15) for k in KS[1:]]
    rows = []
    for combine, size, k in variants:
        row = {"combine": combine, "smooth": size, "k": k,
               "skab": measure(skab, combine, size, k), "validation": measure(validation, combine, size, k)}
        rows.append(row)
        s, v = row["skab"], row["validation"]
        print(f"{combine:9s} smooth {size:3d} k {k:.0f} | SKAB f1 {s['f1']:.3f} far {s['far']:.3f} oracle "
              f"{s['oracle_f1_at_far']:.3f} ap {s['auprc']:.3f} | validation ap {v['auprc']:.3f} f1 {v['f1']:.3f} "
              f"far {v['far']:.3f}", flush=True)

    two_level = []
    for size in (5, 15):
        for upper in (4.0, 6.0, 8.0):
            for lower in (1.0, 2.0, 3.0):
                row = {"smooth": size, "upper": upper, "lower": lower,
                       "skab": measure_hysteresis(skab, size, upper, lower),
                       "validation": measure_hysteresis(validation, size, upper, lower)}
                two_level.append(row)
                s, v = row["skab"], row["validation"]
                print(f"hysteresis smooth {size:3d} {upper:.0f}/{lower:.0f} | SKAB f1 {s['f1']:.3f} "
                      f"far {s['far']:.3f} | validation f1 {v['f1']:.3f} far {v['far']:.3f}", flush=True)

    header = ["features", "smooth", "threshold", "SKAB F1", "SKAB FAR", "SKAB MAR", "SKAB oracle F1 at FAR 10%",
              "SKAB oracle F1 at pooled FAR 10%", "SKAB AUC-PR", "validation AUPRC", "validation F1", "validation FAR"]
    body = [
        [r["combine"], r["smooth"], f"mean + {r['k']:.0f} std", r["skab"]["f1"], f"{100 * r['skab']['far']:.1f}%",
         f"{100 * r['skab']['mar']:.1f}%", r["skab"]["oracle_f1_at_far"], r["skab"]["ceiling_f1_at_far"],
         r["skab"]["auprc"],
         r["validation"]["auprc"], r["validation"]["f1"], f"{100 * r['validation']['far']:.1f}%"]
        for r in rows
    ]
    best = max(r["skab"]["oracle_f1_at_far"] for r in rows)
    ceiling = max(r["skab"]["ceiling_f1_at_far"] for r in rows)
    default_ceiling = rows[0]["skab"]["ceiling_f1_at_far"]
    label_free = max((r["skab"]["f1"] for r in rows if r["skab"]["far"] <= 0.10), default=float("nan"))
    two_header = ["smooth", "upper", "lower", "SKAB F1", "SKAB FAR", "SKAB MAR", "validation F1", "validation FAR"]
    two_body = [
        [r["smooth"], f"mean + {r['upper']:.0f} std", f"mean + {r['lower']:.0f} std", r["skab"]["f1"],
         f"{100 * r['skab']['far']:.1f}%", f"{100 * r['skab']['mar']:.1f}%", r["validation"]["f1"],
         f"{100 * r['validation']['far']:.1f}%"]
        for r in two_level
    ]
    within = [r["skab"]["f1"] for r in two_level if r["skab"]["far"] <= 0.10]
    verdict = (f"The best SKAB F1 of these with FAR <= 10% is {max(within):.3f}" if within
               else "None of these keeps SKAB's FAR at or below 10%")
    nearest = min(two_level, key=lambda r: r["skab"]["far"])["skab"]
    single = next(r["skab"] for r in rows if (r["combine"], r["smooth"], r["k"]) == ("score", 5, 5.0))
    md = (
        "# SKAB: what post-processing the scores can buy\n\n"
        "`OMP_NUM_THREADS=1 python benchmarks/skab_scores.py`. reconad's defaults (`random_state=0`) fitted once per "
        f"case; only the combination of features, the smoothing and the threshold vary. {len(skab)} SKAB files "
        f"(`skab.md`'s protocol) and {len(validation)} validation cases (`skab_validation.py`, no benchmark labels). "
        "The first row is the defaults with `context=0` (the same F1 / FAR / MAR; AUC-PR and the oracle column without "
        "context's re-ranking). Every SKAB column reads SKAB's test labels, so a variant picked from them is "
        "an *oracle* choice. The two oracle columns read the labels too: *at FAR 10%* holds each file to at most 10% "
        "of its own normal rows; *at pooled FAR 10%* lets each file's threshold spend the false alarms where they "
        "buy the most recall as long as 10% of all normal rows are not exceeded (`oracle_confusion_pooled_far`): "
        "the ceiling of every per-file threshold rule on those scores.\n\n"
        + markdown_table(header, body)
        + f"\nThe issue's target is pooled F1 >= 0.85 at FAR <= 10%. With every file held to 10% false alarms, the "
        f"best oracle F1 of any variant here is {best:.3f}. Free to spend the false alarms unevenly, thresholds "
        f"chosen with the labels reach {default_ceiling:.3f} on the first row's scores and up to {ceiling:.3f} on "
        "the smoothed ones: the target lies within what these scores allow, but only for a rule that knew which "
        "files' normal rows to give up. The best label-free row here with FAR <= 10% reads "
        f"{label_free:.3f}.\n\n"
        "## Two-level (hysteresis) flags\n\n"
        "The defaults' scores (`score`), flagged by runs: a run of steps above the lower level counts whole when one "
        "of its steps is above the upper level. It holds alarms through dips, but it also holds the false ones.\n\n"
        + markdown_table(two_header, two_body)
        + f"\n{verdict}; the one with the fewest false alarms reaches F1 {nearest['f1']:.3f} at FAR "
        f"{100 * nearest['far']:.1f}%, where the single threshold of the first table already is (mean + 5 std: "
        f"{single['f1']:.3f} at {100 * single['far']:.1f}%). Holding alarms buys recall only at the price of false "
        "alarms, on the same frontier.\n"
    )
    payload = {"machine": machine(), "seconds": time.perf_counter() - began, "rows": rows, "hysteresis": two_level}
    write_results("skab_scores", payload, md)


if __name__ == "__main__":
    main()

"""What tuning on SKAB's own labels would buy, cross-validated over its files: is F1 0.85 at FAR 10% within reach?

Every configuration in the README reads SKAB's labels only to report, and none reaches the target. This script asks
the opposite question, with the labels allowed in, but never those of the file being scored: from a grid of
configurations, pick the one with the best pooled F1 at FAR <= 10% on some files, and score it on the others.

The grid: the members of ``skab_ensemble.py`` (the defaults' auto-encoder, the ``whole-recording`` preset with seeds 0
and 1, PCA raw and smoothed over 31 steps) plus the preset with ``drift=None`` (the fit behind the README's 0.846
*oracle* row), alone, in pairs and in two triples, each combined as the geometric mean of the members' ratios to
their floors (mean + ``k`` std of their calibration scores, ``k`` = 2 to 6), flagged above 1 (*fixed*) or above 1
and Otsu's split of the recording's log ratios (*batch*). Two protocols, both on SKAB's split (train on the first
400 rows of a file, score the rest):

- *halves*: 200 random splits of the 34 files into two halves of 17 (seed 0); the configuration chosen on each
  half's labels flags the other half, and the two held-out halves are pooled;
- *leave one file out*: each file is flagged by the configuration chosen on the other 33 files' labels.

For reference, the *in-sample* row picks on all 34 files' labels and scores the same files: an *oracle*, the best
the grid holds.

    OMP_NUM_THREADS=1 python benchmarks/skab_crossval.py      # about 1 minute with 2 workers
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections import Counter
from multiprocessing import Pool
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, markdown_table, write_results  # noqa: E402
from skab_ensemble import fitted_scores, flags, members_of, ratio  # noqa: E402

from reconad import SeriesDetector  # noqa: E402
from reconad.bench import confusion, rates  # noqa: E402
from reconad.data import load_skab_file  # noqa: E402
from reconad.data.skab import skab_files  # noqa: E402

MEMBERS = ("AE (defaults)", "AE", "AE seed 1", "AE drift=None", "PCA s1", "PCA s31")
KS = (2, 3, 4, 5, 6)
TARGET_F1, TARGET_FAR = 0.85, 0.10
SPLITS = 200


def scored(name: str) -> tuple[str, np.ndarray, dict]:
    """One SKAB file's labels after training and every member's (test scores, calibration scores)."""
    recording = load_skab_file(name)
    case = ("SKAB", name, recording.features.to_numpy(dtype=np.float32), np.asarray(recording.labels))
    _, _, y, out = members_of(case)  # also quiets reconad's window-shrinking notices
    det = SeriesDetector.from_preset("whole-recording", random_state=0, verbose=False, drift=None)
    out["AE drift=None"] = fitted_scores(det, case[2])
    return name, y, out


def grid() -> list[tuple[tuple[str, ...], str, int]]:
    sets = ([(m,) for m in MEMBERS] + list(itertools.combinations(MEMBERS, 2))
            + [("AE", "AE drift=None", "PCA s1"), ("AE", "AE drift=None", "PCA s31")])
    return [(s, rule, k) for s in sets for rule in ("fixed", "batch") for k in KS]


def counts(files: list, config) -> np.ndarray:
    """(files, 4) confusion counts (tp, fp, fn, tn) of one configuration on each file."""
    members, rule, k = config
    out = []
    for _, y, scores in files:
        f, _ = flags([ratio(*scores[m], k) for m in members], "geometric", rule)
        c = confusion(y, f)
        out.append([c["tp"], c["fp"], c["fn"], c["tn"]])
    return np.asarray(out, dtype=np.int64)


def pooled_rates(c: np.ndarray) -> dict:
    """``rates`` of summed (tp, fp, fn, tn) counts."""
    return rates(dict(zip(("tp", "fp", "fn", "tn"), (int(v) for v in c))))


def pick(table: np.ndarray, files: np.ndarray) -> int:
    """The configuration with the best pooled F1 at FAR <= 10% on ``files`` (labels read), by index."""
    best, chosen = -1.0, 0
    for i, per_file in enumerate(table):
        r = pooled_rates(per_file[files].sum(axis=0))
        if r["far"] <= TARGET_FAR and r["f1"] > best:
            best, chosen = r["f1"], i
    return chosen


def main() -> None:
    began = time.perf_counter()
    with Pool(2) as pool:
        files = pool.map(scored, skab_files())
    configs = grid()
    table = np.stack([counts(files, c) for c in configs])  # (configs, files, 4)
    n = len(files)

    rng = np.random.default_rng(0)
    halves, half_picks = [], Counter()
    for _ in range(SPLITS):
        order = rng.permutation(n)
        parts = (order[: n // 2], order[n // 2 :])
        total = np.zeros(4, dtype=np.int64)
        for chooses, flags_on in (parts, parts[::-1]):
            i = pick(table, chooses)
            half_picks[i] += 1
            total += table[i, flags_on].sum(axis=0)
        halves.append(pooled_rates(total))
    lofo_total, lofo_picks = np.zeros(4, dtype=np.int64), Counter()
    for j in range(n):
        i = pick(table, np.array([x for x in range(n) if x != j]))
        lofo_picks[i] += 1
        lofo_total += table[i, j]
    lofo = pooled_rates(lofo_total)
    best = pick(table, np.arange(n))
    in_sample = pooled_rates(table[best].sum(axis=0))

    def name(i: int) -> str:
        members, rule, k = configs[i]
        return f"{' + '.join(members)}, {rule}, k={k}"

    f1s = np.array([h["f1"] for h in halves])
    fars = np.array([h["far"] for h in halves])
    mars = np.array([h["mar"] for h in halves])
    met = int(np.sum((f1s >= TARGET_F1) & (fars <= TARGET_FAR)))

    def pct(v):
        return f"{100 * v:.1f}%"

    def spread(v, as_pct=False):
        cell = pct if as_pct else "{:.3f}".format
        return f"{cell(np.median(v))} ({cell(np.percentile(v, 5))} to {cell(np.percentile(v, 95))})"

    rows = [
        [f"halves ({SPLITS} random splits; median, 5th to 95th percentile)", spread(f1s), spread(fars, True),
         spread(mars, True), f"{met} of {SPLITS}", ", ".join(f"{name(i)} ({c})" for i, c in half_picks.most_common(3))],
        ["leave one file out", lofo["f1"], pct(lofo["far"]), pct(lofo["mar"]),
         "yes" if lofo["f1"] >= TARGET_F1 and lofo["far"] <= TARGET_FAR else "no",
         ", ".join(f"{name(i)} ({c})" for i, c in lofo_picks.most_common(3))],
        ["in-sample (*oracle*: all 34 files' labels)", in_sample["f1"], pct(in_sample["far"]), pct(in_sample["mar"]),
         "yes" if in_sample["f1"] >= TARGET_F1 and in_sample["far"] <= TARGET_FAR else "no", name(best)],
    ]
    md = (
        "# SKAB: tuning on SKAB's own labels, cross-validated over its files\n\n"
        "`OMP_NUM_THREADS=1 python benchmarks/skab_crossval.py`. A grid of "
        f"{len(configs)} configurations (members: {', '.join(MEMBERS)}; alone, in pairs and in two triples; the "
        "geometric mean of each member's ratio to its floor, mean + k std of its calibration scores, k = 2 to 6; "
        "flagged above 1 (*fixed*) or above 1 and Otsu's split of the recording's log ratios (*batch*); members as "
        "`skab_ensemble.py`, *AE drift=None* is the `whole-recording` preset with `drift=None`). Each protocol picks "
        "the configuration with the best pooled F1 at FAR <= 10% on some files' labels and flags other files with "
        "it; SKAB's split (train on the first 400 rows of a file, score the rest), pooled as its leaderboard. "
        f"The target is F1 >= {TARGET_F1} at FAR <= {pct(TARGET_FAR)}.\n\n"
        + markdown_table(["protocol", "pooled F1", "FAR", "MAR", "meets the target", "most chosen (times)"], rows)
    )
    payload = {"machine": machine(), "configs": len(configs), "splits": SPLITS, "halves": halves,
               "half_picks": {name(i): c for i, c in half_picks.items()}, "leave_one_out": lofo,
               "leave_one_out_picks": {name(i): c for i, c in lofo_picks.items()},
               "in_sample": {"config": name(best), **in_sample}, "seconds": time.perf_counter() - began}
    write_results("skab_crossval", payload, md)
    print(md)


if __name__ == "__main__":
    main()

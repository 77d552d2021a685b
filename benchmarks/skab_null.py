"""The recording's own quiet rows as the null: batch thresholds that read the normal level off the recording.

``BatchSplit`` flags a step above the detector's floor (mean + k std of the calibration scores) and above Otsu's
split of the recording's log scores. Otsu's cut lies halfway between the two groups' means (in log score), so a
fault that lifts the score only a little above the recording's normal level stays under it, and on SKAB the misses
(MAR 28% for the ``whole-recording`` preset) outnumber the false alarms (FAR 7.5%). This script asks whether a cut
placed relative to the recording's *normal* rows instead, an empirical null in Efron's sense, buys recall cheaply:

- *otsu*: ``BatchSplit``'s rule, the reference (its ``AE, k=2`` row reproduces ``skab-whole-recording.md``);
- *null <= otsu, c*: the low group of Otsu's split is read as the recording's normal rows; flag above the floor and
  above the lower of Otsu's cut and that group's mean + ``c`` std (so it only adds flags to *otsu*);
- *null, c*: above the floor and above the low group's mean + ``c`` std, wherever that lies;
- *mixture*: a two-component Gaussian mixture of the log scores (scikit-learn); flag above the floor where the
  higher component's posterior passes 0.5 (a cut that follows the two groups' spreads, which Otsu's ignores).

With fewer than 10 rows in the low group the *null* rules fall back to *otsu*. *Growing* (a second table, on the
*otsu* and *null, c=3* flags) is hysteresis relative to the recording: each flagged region spreads into the
neighbouring rows whose log score lies above the low group's mean + ``g`` std (and, with *floor*, above the floor
too), so the weaker start and end of a fault that crossed the cut join it while a quiet stretch that never crossed it
stays unflagged. None of them reads labels. They are applied to the members of ``skab_ensemble.py`` (the
defaults' and the preset's auto-encoders, the PCA baseline, and the geometric mean of the preset's and the PCA's
score ratios, all as that script computes them), so its rows with the *batch* rule are this script's *otsu* rows.

Suites, as ``skab_split.py``: *validation* (64 cases of SKAB's anomaly-free recording with one injected anomaly
each) and *clean* (its 8 segments with nothing injected) choose; *SKAB* (the 34 labelled files, ``skab.md``'s
protocol) only reports. The choice is ``skab_split.py``'s rule: the highest validation F1 among the candidates
whose validation FAR and clean FAR are no higher than the defaults'.

    OMP_NUM_THREADS=1 python benchmarks/skab_null.py      # about 4 minutes with 2 workers
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
from scipy.ndimage import label  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, markdown_table, pct, pooled, suite_reads, write_results  # noqa: E402
from skab_ensemble import DEFAULTS, choose, flags, members_of, ratio  # noqa: E402
from skab_split import all_cases  # noqa: E402

from reconad.thresholds import otsu_cut  # noqa: E402

MEMBERS = ("AE (defaults)", "AE", "PCA s31", "AE + PCA s1", "AE + PCA s31")
KS = (2, 3, 4)
RULES = (("otsu", 0), ("null <= otsu", 2), ("null <= otsu", 3), ("null <= otsu", 4), ("null", 3), ("null", 4),
         ("null", 5), ("mixture", 0))
MIN_LOW = 10  # fewer rows than this in Otsu's low group: no null to read, fall back to Otsu's cut
GROW_KS = (2, 3)
GROW_RULES = (("otsu", 0), ("null", 3))
GROWTH = ((0.5, False), (1, False), (1.5, False), (2, False), (0, True), (1, True))  # (g, above the floor too)


def quiet_group(logs: np.ndarray) -> tuple[float, np.ndarray | None]:
    """(Otsu's cut of the log ratios, its low group: the recording's quiet rows, or None when under ``MIN_LOW``)."""
    cut = otsu_cut(logs)
    low = logs[logs <= cut]
    return cut, (low if low.size >= MIN_LOW else None)


def null_flags(value: np.ndarray, rule: str, c: float) -> np.ndarray:
    """Flags of one recording's combined ratios (1 = the floor) under a batch ``rule``."""
    if rule == "otsu":
        return flags([value], "geometric", "batch")[0]
    above = value > 1.0
    if not above.any():
        return above
    logs = np.log(value)
    if rule == "mixture":
        mixture = GaussianMixture(2, random_state=0).fit(logs[:, None])
        high = int(np.argmax(mixture.means_.ravel()))
        return above & (mixture.predict_proba(logs[:, None])[:, high] > 0.5)
    cut, low = quiet_group(logs)
    if low is None:
        return above & (logs > cut)
    level = low.mean() + c * low.std()
    return above & (logs > (min(cut, level) if rule == "null <= otsu" else level))


def grown(value: np.ndarray, core: np.ndarray, g: float, floor: bool) -> np.ndarray:
    """``core`` flags spread into the neighbouring rows whose log ratio lies above the mean + ``g`` std of the low
    group of Otsu's split (and above the floor with ``floor``): every run of such rows that touches a flag."""
    if not core.any():
        return core
    logs = np.log(value)
    _, low = quiet_group(logs)
    if low is None:
        return core
    reach = logs > low.mean() + g * low.std()
    if floor:
        reach &= value > 1.0
    runs, _ = label(reach | core)  # (T,) run ids, 0 outside
    touched = np.unique(runs[core])
    return np.isin(runs, touched[touched > 0])


def evaluate(done, members: str, k: float, rule: str, c: float, growth: tuple | None = None) -> dict:
    row = {"members": members, "k": k, "rule": rule, "c": c, "growth": growth}
    for suite in ("validation", "clean", "SKAB"):
        pairs = []
        for s, _, y, out in done:
            if s == suite:
                parts = [ratio(*out[m], k) for m in members.split(" + ")]
                value = np.exp(np.mean(np.log(parts), axis=0))  # the geometric mean (one member: its ratio)
                f = flags([value], "geometric", "fixed")[0] if rule == "fixed" else null_flags(value, rule, c)
                pairs.append((y, f if growth is None else grown(value, f, *growth)))
        row[suite] = pooled(pairs)
    return row


def main() -> None:
    began = time.perf_counter()
    with Pool(2) as pool:
        done = list(pool.imap(members_of, all_cases()))
    members, _, rule, k = DEFAULTS
    default = evaluate(done, members, k, rule, 0)  # the detector's defaults: skab.md's row
    plain = [default] + [evaluate(done, m, k, r, c) for m in MEMBERS for k in KS for r, c in RULES]
    growing = [evaluate(done, m, k, r, c, g) for m in MEMBERS for k in GROW_KS for r, c in GROW_RULES for g in GROWTH]
    rows = plain + growing
    chosen = choose(rows, default)
    chosen_plain = choose(plain, default)  # before growing was added
    within = [r for r in rows if r["SKAB"]["far"] <= 0.10]
    best_read = max(within, key=lambda r: r["SKAB"]["f1"])  # an oracle: read off SKAB's labels
    preset = next(r for r in rows if (r["members"], r["k"], r["rule"], r["growth"]) == ("AE", 2, "otsu", None))

    def growth(r: dict) -> str:
        if r["growth"] is None:
            return "-"
        g, floor = r["growth"]
        return f"g={g}" + (", floor" if floor else "")

    def name(r: dict) -> str:
        return (f"{r['members']}, k={r['k']}, {r['rule']}" + (f", c={r['c']}" if r["rule"].startswith("null") else "")
                + (f", grown ({growth(r)})" if r["growth"] is not None else ""))

    def reads(r: dict) -> str:
        return suite_reads(name(r), r)

    def cells(r: dict) -> list:
        return [f"**{r['members']}**" if r is chosen or r is chosen_plain else r["members"], r["k"], r["rule"],
                r["c"] if r["rule"].startswith("null") else "-", r["validation"]["f1"], pct(r["validation"]["far"]),
                pct(r["clean"]["far"]), r["SKAB"]["f1"], pct(r["SKAB"]["far"]), pct(r["SKAB"]["mar"])]

    header = ["members", "k", "rule", "c", "validation F1", "validation FAR", "clean FAR", "SKAB F1", "SKAB FAR",
              "SKAB MAR"]
    frontier = []  # per member set, the best SKAB F1 at FAR <= 10% without and with growing: read off SKAB
    for m in MEMBERS:
        best = []
        for group in (plain, growing):
            fit = [r for r in group if r["members"] == m and r["SKAB"]["far"] <= 0.10]
            top = max(fit, key=lambda r: r["SKAB"]["f1"]) if fit else None
            best.append(f"{top['SKAB']['f1']:.3f} at {pct(top['SKAB']['far'])} ({name(top).split(', ', 1)[1]})"
                        if top else "none at FAR <= 10%")
        frontier.append([m, *best])
    counts = Counter(s for s, *_ in done)
    md = (
        "# SKAB: batch thresholds that read the normal level off the recording\n\n"
        "`OMP_NUM_THREADS=1 python benchmarks/skab_null.py`. Members as `skab_ensemble.py` (*AE (defaults)*: "
        "`SeriesDetector(random_state=0)`; *AE*: `SeriesDetector.from_preset(\"whole-recording\", random_state=0)`; "
        "*PCA s31*: `reconad.bench`'s PCA baseline averaged over 31 centred steps; *AE + PCA*: the geometric mean of "
        "the two members' ratios), each score divided by its floor, mean + k std of its calibration scores. Rules on "
        "the recording's log ratios, every flag above the floor: *otsu* (`BatchSplit`'s), *null <= otsu* (above the "
        "lower of Otsu's cut and the mean + c std of Otsu's low group), *null* (above the low group's mean + c std), "
        "*mixture* (a two-component Gaussian mixture's higher component more likely than not). The first row is the "
        "detector's defaults (fixed threshold, `skab.md`); the *AE, k=2, otsu* row reproduces "
        f"`skab-whole-recording.md`. Validation: {counts['validation']} cases of `skab_validation.py` and "
        f"{counts['clean']} *clean* segments; SKAB: the {counts['SKAB']} files, reporting only.\n\n"
        + markdown_table(header, [cells(r) for r in plain])
        + "\n## Growing the flagged regions\n\nThe *otsu* and *null, c=3* flags, each flagged region spread into the "
        "neighbouring rows whose log ratio lies above the low group's mean + g std (*floor*: and above the floor).\n\n"
        + markdown_table([*header[:4], "growth", *header[4:]], [[*cells(r)[:4], growth(r), *cells(r)[4:]]
                                                               for r in growing])
        + "\n## Best reading at FAR <= 10% per member set (*oracle*: read off SKAB's labels)\n\n"
        + markdown_table(["members", "without growing", "with growing"], frontier)
        + "\nChosen on validation alone by `skab_split.py`'s rule (the highest validation F1 among the rows whose "
        f"validation FAR and clean FAR are no higher than the defaults'), from the first table: {reads(chosen_plain)}; "
        f"from both tables: {reads(chosen)}. The "
        f"preset as it is: {reads(preset)}; the defaults: {reads(default)}. *Oracle*, read off SKAB's labels: the best "
        f"SKAB F1 of any row with FAR <= 10%, {reads(best_read)}. The target is F1 >= 0.85 at FAR <= 10%.\n"
    )
    keys = ("members", "k", "rule", "c", "growth")
    payload = {"machine": machine(), "cases": dict(counts), "rows": rows,
               "chosen": {k: chosen[k] for k in keys},
               "chosen_without_growing": {k: chosen_plain[k] for k in keys},
               "best_read_off_skab": {k: best_read[k] for k in keys},
               "seconds": time.perf_counter() - began}
    write_results("skab_null", payload, md)
    print(md)


if __name__ == "__main__":
    main()

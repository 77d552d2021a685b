"""Where SKAB's labels run ahead of its sensors: the valve files' label margins, and the misses they hold.

In SKAB's valve files (``valve1/*``, ``valve2/*``) a valve is closed part-way, which acts on the flow. This
script measures, per valve file, how far into the labelled anomaly the flow sensor first departs from its
training level and how long before the label ends it has returned:

- the flow's 10-row centred mean, in standard deviations of the file's first 400 rows (the training part);
- *onset lag*: rows from the label's first row to the first labelled row where that mean is beyond 3 std;
  *early return*: rows from the last such row to the label's last row. A file whose flow never passes 3 std
  inside the label has neither (its fault shows elsewhere, or not at all).

The rows between the label's start and the onset, and between the return and the label's end, are the
*margins*: labelled anomalous while the flow reads as in training. The script then fits reconad's defaults and
the ``whole-recording`` preset on SKAB's protocol (``skab.md``: train on the first 400 rows, flag the rest as one
batch) and reports, pooled over the 34 files:

- F1 / FAR / MAR as the protocol has them (these reproduce ``skab.md`` and ``skab_split.md``);
- how many of the missed anomalous rows lie in the margins;
- a *diagnostic* F1 with the margin rows left out of the count (neither label nor flag read there): it reads
  SKAB's labels and a sensor chosen for the fault, so it is an analysis of where the misses are, never a result;
- the *margin ceiling*: the F1 of flags equal to the labels minus the margins (perfect everywhere else), the most
  a detector that waits for the flow to move can score on the protocol;
- whether any *other* sensor moves in the margins: per sensor, the share of margin rows where its 10-row mean,
  or its 20-row log spread, lies beyond 3 training std, next to the same share on the valve files' normal rows
  after training. A sensor that departs no more often in the margins than on normal rows gives a label-free
  detector nothing to flag there.

    OMP_NUM_THREADS=1 python benchmarks/skab_margins.py    # about 2 minutes with 2 workers
"""

from __future__ import annotations

import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, markdown_table, write_results  # noqa: E402

from reconad import SeriesDetector  # noqa: E402
from reconad.bench import TRAIN_ROWS, confusion, rates  # noqa: E402
from reconad.data import load_skab_file  # noqa: E402
from reconad.data.skab import skab_files  # noqa: E402

FLOW = "Volume Flow RateRMS"
MEAN_ROWS = 10  # the flow's centred rolling mean damps its row-to-row noise
DEPARTURE = 3.0  # training standard deviations the mean must pass to count as the flow having moved
SPREAD_ROWS = 20  # rows of the centred rolling standard deviation whose log is compared with training's
CONFIGURATIONS = {
    "defaults": lambda: SeriesDetector(random_state=0, verbose=False),
    "whole-recording preset": lambda: SeriesDetector.from_preset("whole-recording", random_state=0, verbose=False),
}


def segment(labels: np.ndarray) -> tuple[int, int]:
    """The first and one-past-last row of a file's single labelled anomaly."""
    rows = np.flatnonzero(labels)
    assert len(rows) == rows[-1] - rows[0] + 1, "every labelled SKAB file holds one contiguous anomaly"
    return int(rows[0]), int(rows[-1]) + 1


def margins(name: str, recording) -> dict:
    """The flow's onset lag and early return inside a valve file's label, and the (T,) mask of margin rows."""
    labels = recording.labels.astype(bool)
    mask = np.zeros(len(labels), dtype=bool)
    row = {"file": name, "labelled_rows": int(labels.sum()), "onset_lag": None, "early_return": None, "mask": mask}
    if not name.startswith("valve"):
        return row
    flow = recording.features[FLOW].to_numpy(dtype=np.float64)
    train = flow[:TRAIN_ROWS]
    z = pd.Series((flow - train.mean()) / train.std()).rolling(MEAN_ROWS, center=True, min_periods=1).mean()
    start, end = segment(labels)
    moved = np.flatnonzero(np.abs(z.to_numpy()[start:end]) > DEPARTURE)
    if len(moved):
        row["onset_lag"], row["early_return"] = int(moved[0]), int(end - start - 1 - moved[-1])
        mask[start : start + moved[0]] = True
        mask[start + moved[-1] + 1 : end] = True
    return row


def departures(recording, margin: np.ndarray) -> dict[str, np.ndarray]:
    """Per sensor, how many margin rows and normal rows after training depart from the training part.

    Returns ``{"margin": (2, D), "normal": (2, D)}`` counts, row 0 the level (10-row mean beyond 3 std of
    the training rows), row 1 the spread (log of the 20-row standard deviation beyond 3 std of its training
    values), and the row counts they are out of under ``"rows"``.
    """
    x = recording.features.to_numpy(dtype=np.float64)  # (T, D)
    train = x[:TRAIN_ROWS]
    level = pd.DataFrame((x - train.mean(0)) / train.std(0)).rolling(MEAN_ROWS, center=True, min_periods=1).mean()
    spread = np.log(pd.DataFrame(x).rolling(SPREAD_ROWS, center=True, min_periods=5).std().to_numpy() + 1e-12)
    spread = (spread - spread[:TRAIN_ROWS].mean(0)) / spread[:TRAIN_ROWS].std(0)
    beyond = np.stack([np.abs(level.to_numpy()) > DEPARTURE, np.abs(spread) > DEPARTURE])  # (2, T, D)
    normal = ~recording.labels.astype(bool)
    normal[:TRAIN_ROWS] = False
    return {"margin": beyond[:, margin].sum(1), "normal": beyond[:, normal].sum(1),
            "rows": np.array([margin.sum(), normal.sum()])}


def flags(job: tuple[str, str, np.ndarray]) -> tuple[str, str, np.ndarray]:
    """One configuration's label-free flags on the rows of one file ``x`` (T, 8) after its training part."""
    configuration, name, x = job
    detector = CONFIGURATIONS[configuration]().fit(x[:TRAIN_ROWS])
    scores = detector.anomaly_score(x)[TRAIN_ROWS:]  # flagged as one batch, as the protocol predicts on them
    return configuration, name, detector.threshold_.predict(scores).astype(bool)


def pooled(pairs) -> dict:
    total = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for labels, predicted in pairs:
        for key, value in confusion(labels, predicted).items():
            total[key] += value
    return {**total, **rates(total)}


def main() -> None:
    began = time.perf_counter()
    names = skab_files()
    recordings = {n: load_skab_file(n) for n in names}
    labels = {n: recordings[n].labels.astype(bool)[TRAIN_ROWS:] for n in names}
    found = {n: margins(n, recordings[n]) for n in names}
    margin = {n: found[n]["mask"][TRAIN_ROWS:] for n in names}
    jobs = [(c, n, recordings[n].features.to_numpy(dtype=np.float32)) for c in CONFIGURATIONS for n in names]
    with Pool(2) as pool:
        predicted = {(c, n): p for c, n, p in pool.map(flags, jobs)}

    results = {}
    for configuration in CONFIGURATIONS:
        protocol = pooled((labels[n], predicted[configuration, n]) for n in names)
        missed = protocol["fn"]
        in_margins = sum(int((labels[n] & ~predicted[configuration, n] & margin[n]).sum()) for n in names)
        diagnostic = pooled((labels[n][~margin[n]], predicted[configuration, n][~margin[n]]) for n in names)
        results[configuration] = {"protocol": protocol, "missed": missed, "missed_in_margins": in_margins,
                                  "diagnostic_without_margins": diagnostic}
        print(f"{configuration}: F1 {protocol['f1']:.3f} FAR {protocol['far']:.3f} MAR {protocol['mar']:.3f} | "
              f"missed {missed}, {in_margins} in margins | without margins F1 {diagnostic['f1']:.3f} "
              f"FAR {diagnostic['far']:.3f} MAR {diagnostic['mar']:.3f}")
    ceiling = pooled((labels[n], labels[n] & ~margin[n]) for n in names)
    sensors = list(recordings[names[0]].features.columns)
    moving = [departures(recordings[n], found[n]["mask"]) for n in names if found[n]["mask"].any()]
    margin_rows, normal_rows = (int(v) for v in sum(d["rows"] for d in moving))
    share = {kind: sum(d[kind] for d in moving) / rows  # (2, D)
             for kind, rows in (("margin", margin_rows), ("normal", normal_rows))}
    others = {sensor: {"level_margin": float(share["margin"][0, j]), "level_normal": float(share["normal"][0, j]),
                       "spread_margin": float(share["margin"][1, j]), "spread_normal": float(share["normal"][1, j])}
              for j, sensor in enumerate(sensors)}
    for sensor, r in others.items():
        print(f"{sensor}: level beyond {DEPARTURE:g} std in {r['level_margin']:.1%} of margin rows, "
              f"{r['level_normal']:.1%} of normal rows; spread {r['spread_margin']:.1%} / {r['spread_normal']:.1%}")
    valve = [found[n] for n in names if n.startswith("valve")]
    moved = [r for r in valve if r["onset_lag"] is not None]
    summary = {
        "valve_files": len(valve),
        "flow_moved": len(moved),
        "median_onset_lag": float(np.median([r["onset_lag"] for r in moved])),
        "median_early_return": float(np.median([r["early_return"] for r in moved])),
        "margin_rows": int(sum(m.sum() for m in margin.values())),
        "anomalous_rows": int(sum(v.sum() for v in labels.values())),
        "margin_ceiling": ceiling,
        "normal_rows_of_moved_files": normal_rows,
        "departures": others,
    }
    print(f"{len(moved)}/{len(valve)} valve files: the flow moves a median {summary['median_onset_lag']:.1f} rows "
          f"into the label and is back a median {summary['median_early_return']:.1f} rows before its end; "
          f"{summary['margin_rows']} margin rows; ceiling F1 {ceiling['f1']:.3f}")

    def pct(v):
        return f"{100 * v:.1f}%"

    per_file = markdown_table(
        ["file", "labelled rows", "onset lag (rows)", "early return (rows)"],
        [[r["file"], r["labelled_rows"],
          "–" if r["onset_lag"] is None else r["onset_lag"],
          "–" if r["early_return"] is None else r["early_return"]] for r in valve])
    rows = []
    for configuration, r in results.items():
        p, d = r["protocol"], r["diagnostic_without_margins"]
        rows.append([configuration, p["f1"], pct(p["far"]), pct(p["mar"]), r["missed"],
                     f"{r['missed_in_margins']} ({pct(r['missed_in_margins'] / r['missed'])})",
                     d["f1"], pct(d["far"]), pct(d["mar"])])
    markdown = (
        "# SKAB: the valve files' labels run ahead of the flow\n\n"
        "`OMP_NUM_THREADS=1 python benchmarks/skab_margins.py`. Per valve file, the flow's "
        f"{MEAN_ROWS}-row centred mean in standard deviations of the training part (the first 400 rows): *onset "
        f"lag*, rows from the label's start to the first labelled row beyond {DEPARTURE:g} std; *early return*, "
        "rows from the last such row to the label's end. Those rows are the *margins*: labelled anomalous while "
        "the flow reads as in training.\n\n"
        f"**{len(moved)} of {len(valve)} valve files**: the flow moves a median **{summary['median_onset_lag']:.0f} "
        f"rows** after the label starts and is back a median **{summary['median_early_return']:.0f} rows** before "
        f"it ends: {summary['margin_rows']} margin rows, {pct(summary['margin_rows'] / summary['anomalous_rows'])} "
        f"of the {summary['anomalous_rows']} anomalous rows SKAB's protocol scores. Flags equal to the labels "
        f"minus the margins (perfect elsewhere) score F1 {ceiling['f1']:.3f} (MAR {pct(ceiling['mar'])}): the "
        "margin ceiling of a detector that waits for the flow to move.\n\n"
        + per_file
        + "\n## Does another sensor move in the margins?\n\n"
        f"Pooled over the {len(moved)} files above whose flow moves, the share of the {summary['margin_rows']} "
        f"margin rows, and of the same files' {normal_rows} normal rows after training, where a sensor departs from "
        "its training part: "
        f"its {MEAN_ROWS}-row centred mean (*level*) or the log of its {SPREAD_ROWS}-row standard deviation "
        f"(*spread*) beyond {DEPARTURE:g} training std. A sensor that departs no more often in the margins than on "
        "normal rows gives a label-free detector nothing to flag there.\n\n"
        + markdown_table(["sensor", "level: margin rows", "level: normal rows", "spread: margin rows",
                          "spread: normal rows"],
                         [[sensor, pct(r["level_margin"]), pct(r["level_normal"]), pct(r["spread_margin"]),
                           pct(r["spread_normal"])] for sensor, r in others.items()])
        + "\n## Where the label-free flags miss\n\n"
        "SKAB's protocol (`skab.md`), `random_state=0`. *Without margins* leaves the margin rows out of the count: "
        "it reads SKAB's labels and picks the sensor by the fault, so it says where the misses are and is never "
        "a result.\n\n"
        + markdown_table(["configuration", "F1", "FAR", "MAR", "missed rows", "of which in margins",
                          "F1 without margins", "FAR", "MAR"], rows)
    )
    payload = {"machine": machine(), "seconds": time.perf_counter() - began, "summary": summary,
               "per_file": [{k: v for k, v in r.items() if k != "mask"} for r in valve], "results": results}
    for path in write_results("skab_margins", payload, markdown):
        print("wrote", path)


if __name__ == "__main__":
    main()

"""Study (issue 39, item 4): does an ensemble of reconstruction families rank anomalies better than one family?

Validation suites without NAB or SKAB labels: the independent noisy sine (seeds 0-4) and synthetic periodic series
(new here) with one kind of injected anomaly each: level shifts, spikes, frequency changes, drifts. Candidates:
``dense`` (the default), ``pca``, ``conv1d`` alone, and ensembles of the three whose members' scores are each
standardised on that member's own held-out calibration scores, then combined by mean or max. Measures: AUC-PR,
VUS-PR (graded as TSB-AD grades), fit and score seconds.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/study_ensemble.py [--quick] [--hard] [--cycles] [--real nab|skab]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from reconad import SeriesDetector
from reconad.bench.sensors import tsb_vus_pr
from reconad.data import make_sine
from reconad.metrics import auprc
from reconad.periods import tsb_sliding_window

KINDS = ("level_shift", "spike", "frequency", "drift")
MEMBERS = {"dense": {}, "pca": {"model": "pca"}, "conv1d": {"model": "conv1d"},
           "dense@auto": {"window": "auto"}, "pca@auto": {"model": "pca", "window": "auto"}}
ENSEMBLES = {"mean(pca,dense,conv1d)": ("mean", ("pca", "dense", "conv1d")),
             "max(pca,dense,conv1d)": ("max", ("pca", "dense", "conv1d")),
             "mean(pca,dense)": ("mean", ("pca", "dense")), "max(pca,dense)": ("max", ("pca", "dense")),
             "mean(pca@auto,dense@auto)": ("mean", ("pca@auto", "dense@auto"))}
OUT = Path(__file__).resolve().parent / "results"


def synthetic(kind: str, seed: int, n_train: int = 2000, n_test: int = 2500, hard: bool = False) -> tuple:
    """A periodic series (1 or 3 features) with four anomalies of one kind in its test part: (train, test, labels).

    ``hard``: twice the noise and anomalies of 0.4 times the size (a frequency 1.25 times, not 1.6 times, faster).
    """
    size = 0.4 if hard else 1.0
    rng = np.random.default_rng(1000 * KINDS.index(kind) + seed)
    period = int(rng.choice([24, 40, 64, 96]))
    n_features = 1 if seed % 2 == 0 else 3
    t = np.arange(n_train + n_test)
    phases = rng.uniform(0, 2 * np.pi, n_features)
    weights = rng.uniform(0.2, 0.6, n_features)
    base = np.stack([np.sin(2 * np.pi * t / period + p) + w * np.sin(4 * np.pi * t / period + 2 * p)
                     for p, w in zip(phases, weights)], axis=1)
    noise = (0.3 if hard else 0.15) * rng.standard_normal(base.shape)
    x = base + noise
    labels = np.zeros(len(t), int)
    starts = n_train + 200 + np.sort(rng.choice(np.arange(0, n_test - 500, 50), 4, replace=False))
    for start in starts:
        column = int(rng.integers(n_features))
        if kind == "level_shift":
            length = int(rng.integers(40, 120))
            x[start:start + length, column] += rng.choice([-1, 1]) * rng.uniform(0.8, 1.5) * size
        elif kind == "spike":
            length = int(rng.integers(1, 4))
            x[start:start + length, column] += rng.choice([-1, 1]) * rng.uniform(2.0, 3.5) * size
        elif kind == "frequency":
            length = int(2 * period)
            local = np.arange(length)
            fast = np.sin(2 * np.pi * (t[start] + (1.25 if hard else 1.6) * local) / period + phases[column])
            x[start:start + length, column] = fast + noise[start:start + length, column]
        else:  # drift: a ramp that builds up, then snaps back
            length = int(rng.integers(100, 200))
            x[start:start + length, column] += np.linspace(0, rng.choice([-1, 1]) * 1.5 * size, length)
        labels[start:start + length] = 1
    return x[:n_train], x[n_train:], labels[n_train:]


def cases(quick: bool, hard: bool = False) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    seeds = range(2) if quick else range(3)
    out = []
    for kind in KINDS:
        for seed in seeds:
            out.append((f"{kind}-{seed}", *synthetic(kind, seed, hard=hard)))
    if hard:
        return out  # the sine suite has one difficulty
    for seed in (range(3) if quick else range(5)):
        data = make_sine(seed, "independent")
        out.append((f"sine-{seed}", data.train, data.test, data.test_labels.astype(int)))
    return out


def run_member(params: dict, train, test) -> dict:
    began = time.perf_counter()
    det = SeriesDetector(**params, random_state=0, verbose=False).fit(train)
    fitted = time.perf_counter()
    scores = det.anomaly_score(test)
    calibration = det.calibration_scores_
    return {"scores": scores, "mean": float(np.mean(calibration)), "std": float(np.std(calibration)) or 1.0,
            "fit": fitted - began, "score": time.perf_counter() - fitted}


def evaluate(name: str, train, scored, labels, graded_from: int = 0) -> list[dict]:
    """Every candidate on one case: fit on ``train``, score ``scored``, grade its rows from ``graded_from`` on."""
    members = {m: run_member(params, train, scored) for m, params in MEMBERS.items()}
    sliding = tsb_sliding_window(np.concatenate([train, scored]) if graded_from == 0 else scored)
    z = {m: (r["scores"] - r["mean"]) / r["std"] for m, r in members.items()}
    candidates = {m: (members[m]["scores"], [m]) for m in MEMBERS}
    for name_, (how, used) in ENSEMBLES.items():
        stacked = np.stack([z[m] for m in used])
        candidates[name_] = (stacked.mean(axis=0) if how == "mean" else stacked.max(axis=0), list(used))
    graded = labels[graded_from:]
    return [{"case": name, "candidate": c, "auprc": auprc(graded, s[graded_from:]),
             "vus_pr": tsb_vus_pr(graded, s[graded_from:], sliding),
             "fit_s": sum(members[m]["fit"] for m in used), "score_s": sum(members[m]["score"] for m in used)}
            for c, (s, used) in candidates.items()]


def cycles_study() -> None:
    """Window = k cycles (k = 1, 2, 3; the dominant period with the 0.2 peak guard) against 100 steps, on every
    validation case (the easy, sine and hard suites); pca for every k, dense for k = 3 (its k = 1 ran as
    dense@auto in the first run, when "auto" meant one cycle)."""
    from reconad.periods import AUTO_MIN_PEAK, dominant_period

    every = cases(False) + [(f"hard-{n}", *rest) for n, *rest in cases(False, hard=True)]
    settings = [("pca", "100"), ("pca", 1), ("pca", 2), ("pca", 3), ("dense", 3)]
    found = {setting: [] for setting in settings}
    for name, train, test, labels in every:
        period = dominant_period(train, min_peak=AUTO_MIN_PEAK)
        sliding = tsb_sliding_window(np.concatenate([train, test]))
        for model, k in settings:
            window = 100 if k == "100" or period is None else int(min(400, max(16, k * period)))
            det = SeriesDetector(model, window=window, random_state=0, verbose=False).fit(train)
            scores = det.anomaly_score(test)
            found[(model, k)].append((name, auprc(labels, scores), tsb_vus_pr(labels, scores, sliding)))
    groups = {"sine": ("sine",), "synthetic": tuple(KINDS), "hard": ("hard",), "all": ("",)}
    for (model, k), rows in found.items():
        cells = []
        for group, prefixes in groups.items():
            mine = [r for r in rows if r[0].startswith(prefixes)]
            cells.append(f"{group} {np.mean([r[1] for r in mine]):.3f}/{np.mean([r[2] for r in mine]):.3f}")
        print(f"{model}@{k}", " | ".join(cells), flush=True)


def summarise(rows: list[dict]) -> dict:
    table = {}
    for candidate in dict.fromkeys(r["candidate"] for r in rows):
        mine = [r for r in rows if r["candidate"] == candidate]
        groups = {g: [r for r in mine if r["case"].startswith(g)] for g in (*KINDS, "sine")}
        table[candidate] = {"auprc": float(np.mean([r["auprc"] for r in mine])),
                            "vus_pr": float(np.mean([r["vus_pr"] for r in mine])),
                            "fit_s": float(np.mean([r["fit_s"] for r in mine])),
                            "score_s": float(np.mean([r["score_s"] for r in mine])),
                            **{f"vus_pr_{g}": float(np.mean([r["vus_pr"] for r in rs])) for g, rs in groups.items()
                               if rs}}
    return table


def real_suites(which: str) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """NAB or SKAB cases, for the once-only report (never used to choose)."""
    out = []
    if which == "nab":
        from reconad.data.nab import load_nab_series, probation, read_windows

        windows = read_windows(None)
        for name in windows:
            s = load_nab_series(name, None, windows)
            n = probation(len(s.values))
            if s.labels[n:].any():
                out.append((name, s.values[:n], s.values, s.labels))  # score the whole series, grade the test rows
    else:
        from reconad.data.skab import TRAIN_ROWS, load_skab_file, skab_files

        for name in skab_files(None):
            r = load_skab_file(name, None)
            x = r.features.to_numpy(dtype=np.float32)
            out.append((name, x[:TRAIN_ROWS], x, r.labels))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--hard", action="store_true", help="the synthetic series with smaller anomalies, more noise")
    parser.add_argument("--cycles", action="store_true", help="window = 1, 2, 3 cycles against 100 steps")
    parser.add_argument("--real", choices=["nab", "skab"])
    args = parser.parse_args()
    if args.cycles:
        cycles_study()
        return
    rows = []
    if args.real:
        for name, train, whole, labels in real_suites(args.real):
            found = evaluate(name, train, whole, labels, graded_from=len(train))
            rows += found
            print(name, {r["candidate"]: round(r["vus_pr"], 3) for r in found}, flush=True)
        tag = args.real
    else:
        for name, train, test, labels in cases(args.quick, args.hard):
            found = evaluate(name, train, test, labels)
            rows += found
            print(name, {r["candidate"]: (round(r["vus_pr"], 3), round(r["fit_s"], 1)) for r in found}, flush=True)
        tag = "validation_hard" if args.hard else "validation"
    summary = summarise(rows)
    (OUT / f"study_ensemble_{tag}.json").write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))
    for candidate, values in summary.items():
        print(f"{candidate:24s}", " ".join(f"{k} {v:.3f}" for k, v in values.items()))


if __name__ == "__main__":
    main()

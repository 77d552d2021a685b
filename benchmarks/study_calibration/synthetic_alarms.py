# ruff: noqa
"""Study (issue 34): calibration sources x threshold rules on our own synthetic sensor logs (no NAB/SKAB labels).

Five normal-behaviour families x 3 seeds; each log has 1,500 normal rows then 10,000 test rows with 6 injected
anomalies (spike, level shift, frequency change, noise burst, flatline, drift ramp). Fits on the first 750 / 1,125 /
1,500 rows (the alarms protocol's shape), predicts the 10,000 test rows.
"""
import json
import sys
import time

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from oof_alarms import RULES, oof_scores  # noqa: E402

from reconad.bench.alarms import false_alarms_per_10k, windows_touched  # noqa: E402
from reconad.detectors import SeriesDetector  # noqa: E402
from reconad.metrics import point_f1  # noqa: E402

N_NORMAL, N_TEST = 1500, 10_000


def normal(family, n, rng):
    t = np.arange(n)
    if family == "sine":
        p = rng.uniform(50, 150)
        return (np.sin(2 * np.pi * t / p) + rng.normal(0, 0.2, n))[:, None]
    if family == "two_sines_drift":
        p1, p2 = rng.uniform(40, 80), rng.uniform(150, 300)
        walk = np.cumsum(rng.normal(0, 0.01, n))
        return (np.sin(2 * np.pi * t / p1) + 0.5 * np.sin(2 * np.pi * t / p2) + walk + rng.normal(0, 0.15, n))[:, None]
    if family == "square":
        p = int(rng.uniform(60, 120))
        return (np.where((t % p) < p // 2, 1.0, -1.0) + rng.normal(0, 0.1, n))[:, None]
    if family == "multi":
        p = rng.uniform(60, 120)
        base = np.sin(2 * np.pi * t / p)
        return np.stack([base + rng.normal(0, 0.1, n), np.roll(base, 10) * 2 + rng.normal(0, 0.2, n),
                         base ** 2 + rng.normal(0, 0.1, n)], axis=1)
    if family == "ar1":
        x = np.zeros(n)
        e = rng.normal(0, 0.3, n)
        for i in range(1, n):
            x[i] = 0.9 * x[i - 1] + e[i]
        return x[:, None]
    raise ValueError(family)


def inject(x, rng):
    x = x.copy()
    labels = np.zeros(len(x), dtype=np.int8)
    kinds = ["spike", "shift", "freq", "noise", "flat", "ramp"]
    slots = np.sort(rng.choice(np.arange(500, len(x) - 500, 1200), size=6, replace=False))
    sd = x.std(axis=0)
    for kind, start in zip(kinds, slots):
        length = {"spike": 3, "shift": 60, "freq": 120, "noise": 80, "flat": 100, "ramp": 150}[kind]
        sl = slice(start, start + length)
        if kind == "spike":
            x[sl] += 5 * sd
        elif kind == "shift":
            x[sl] += 1.5 * sd
        elif kind == "freq":
            idx = np.arange(start, start + length)
            x[sl] = x[start + (idx - start) * 2 % length + 0]  # rows replayed twice as fast
        elif kind == "noise":
            x[sl] += rng.normal(0, 1.0, (length, x.shape[1])) * sd
        elif kind == "flat":
            x[sl] = x[start]
        elif kind == "ramp":
            x[sl] += np.linspace(0, 2, length)[:, None] * sd
        labels[sl] = 1
    return x, labels


def main(out_path):
    with open(out_path, "a") as out:
        for family in ("sine", "two_sines_drift", "square", "multi", "ar1"):
            for seed in range(3):
                rng = np.random.default_rng(1000 + seed)
                whole = normal(family, N_NORMAL + N_TEST, rng)
                test, labels = inject(whole[N_NORMAL:], rng)
                for n in (750, 1125, 1500):
                    t = time.perf_counter()
                    det = SeriesDetector(random_state=0, verbose=False).fit(whole[:n])
                    t_fit = time.perf_counter() - t
                    scores = det.anomaly_score(test)
                    t = time.perf_counter()
                    oof = oof_scores(whole[:n], det.window_)
                    t_oof = time.perf_counter() - t
                    tail = det.calibration_scores_
                    for src, cal in (("tail", tail), ("oof", oof), ("both", np.concatenate([tail, oof]))):
                        for rname, make in RULES.items():
                            flags = (scores > float(make().fit(cal))).astype(np.int8)
                            out.write(json.dumps({"set": "synthetic", "series": f"{family}-{seed}",
                                                  "fraction": {750: 0.1, 1125: 0.15, 1500: 0.2}[n],
                                                  "rule": f"{src}:{rname}", "flagged": int(flags.sum()),
                                                  "fa10k": false_alarms_per_10k(labels, flags),
                                                  "touched": windows_touched(labels, flags),
                                                  "f1": point_f1(labels, flags), "t_fit": t_fit,
                                                  "t_oof": t_oof}) + "\n")
                    out.flush()
                    print(family, seed, n, f"{t_fit:.1f}s {t_oof:.1f}s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])

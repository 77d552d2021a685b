# ruff: noqa
"""Study (issue 34, second round): 2-fold out-of-fold calibration vs the last-fifth tail, on the alarms protocol.

Per NAB series and training stretch (10/15/20%), and per SKAB file (400-row split) + the anomaly-free recording:
the default detector (tail calibration) gives the test scores; two fold models (calibration_split=0, each on one
half of the training rows) score the other half: out-of-fold (OOF) calibration scores. Threshold rules are fitted
on: tail, OOF, tail+OOF; applied to the default model's test scores. Output: JSON lines per (series, fraction).
"""
import json
import sys
import time

import numpy as np

from reconad.bench.alarms import FRACTIONS, false_alarms_per_10k, train_sizes, windows_touched
from reconad.detectors import SeriesDetector
from reconad.metrics.regions import regions
from reconad.thresholds import AlarmBudget, MeanStd

RULES = {"meanstd4": lambda: MeanStd(k=4.0), "budget1": lambda: AlarmBudget(alarms=1, per=10_000),
         "budget2": lambda: AlarmBudget(alarms=2, per=10_000), "budget5": lambda: AlarmBudget(alarms=5, per=10_000)}


def oof_scores(train, window):
    h = len(train) // 2
    a, b = train[:h], train[h:]
    out = []
    for fit_part, score_part in ((a, b), (b, a)):
        d = SeriesDetector(random_state=0, verbose=False, calibration_split=0, window=window).fit(fit_part)
        out.append(d.anomaly_score(score_part))
    return np.concatenate(out[::-1])


def flags_for(det, tail, oof, test_scores):
    res = {}
    for src, cal in (("tail", tail), ("oof", oof), ("both", np.concatenate([tail, oof]))):
        for rname, make in RULES.items():
            try:
                thr = float(make().fit(cal))
            except Exception as exc:  # noqa: BLE001
                print("rule failed", src, rname, exc, file=sys.stderr)
                continue
            res[f"{src}:{rname}"] = (test_scores > thr).astype(np.int8)
    return res


def run_nab(out):
    from reconad.data.nab import load_nab_series, read_windows
    windows = read_windows(None)
    for name in list(windows)[::3]:  # every third series: the shared machine is slow today
        s = load_nab_series(name, None, windows)
        sizes = train_sizes(len(s.values))
        rest, labels = s.values[max(sizes):], s.labels[max(sizes):]
        for fraction, n in zip(FRACTIONS, sizes):
            t = time.perf_counter()
            train = s.values[:n]
            det = SeriesDetector(random_state=0, verbose=False).fit(train)
            t_fit = time.perf_counter() - t
            test = det.anomaly_score(rest)
            t = time.perf_counter()
            oof = oof_scores(train, det.window_)
            t_oof = time.perf_counter() - t
            for key, flags in flags_for(det, det.calibration_scores_, oof, test).items():
                out.write(json.dumps({"set": "nab", "series": name, "fraction": fraction, "rule": key,
                                      "flagged": int(flags.sum()), "fa10k": false_alarms_per_10k(labels, flags),
                                      "touched": windows_touched(labels, flags), "t_fit": t_fit,
                                      "t_oof": t_oof}) + "\n")
            out.flush()
            print(name, fraction, f"{t_fit:.1f}s {t_oof:.1f}s", file=sys.stderr, flush=True)


def run_skab(out):
    from reconad.data.skab import TRAIN_ROWS, load_skab_anomaly_free, load_skab_file, skab_files
    from reconad.metrics import confusion
    items = [(n, load_skab_file(n, None)) for n in skab_files(None)] + [("anomaly-free", load_skab_anomaly_free(None))]
    for name, rec in items:
        x = rec.features.to_numpy(dtype=np.float32)
        train, rest = x[:TRAIN_ROWS], x[TRAIN_ROWS:]
        det = SeriesDetector(random_state=0, verbose=False).fit(train)
        test = det.anomaly_score(rest)
        oof = oof_scores(train, det.window_)
        labels = None if name == "anomaly-free" else rec.labels[TRAIN_ROWS:]
        for key, flags in flags_for(det, det.calibration_scores_, oof, test).items():
            row = {"set": "skab", "file": name, "rule": key, "events": len(regions(flags)), "rows": len(flags)}
            if labels is not None:
                row.update(confusion(labels, flags))
            out.write(json.dumps(row) + "\n")
        out.flush()
        print(name, file=sys.stderr, flush=True)


if __name__ == "__main__":
    with open(sys.argv[2], "a") as out:
        {"nab": run_nab, "skab": run_skab}[sys.argv[1]](out)

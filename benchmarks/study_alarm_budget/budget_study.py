"""Throwaway study: which alarm budget should the default be? Synthetic validation only (sine seeds 100-104)."""
import json, sys, time
import numpy as np
from reconad import SeriesDetector
from reconad.data import make_sine
from reconad.metrics import point_f1, regions, event_f1
from reconad.thresholds import AlarmBudget, MeanStd, alarm_events

BUDGETS = [0.5, 1, 2, 5, 10, 20]
rows = []
for seed in (100, 101, 102, 103, 104):
    d = make_sine(seed, "independent", repeat=200, test_length=20000, n_anomalies=40)
    t = time.time()
    det = SeriesDetector(random_state=seed, verbose=False).fit(d.train[:3000])
    fit_s = time.time() - t
    scores = det.anomaly_score(d.test)
    labels = d.test_labels
    normal = int((labels == 0).sum())
    for name, thr in [("mean+4std", MeanStd(k=4.0))] + [(f"budget {b}", AlarmBudget(alarms=b)) for b in BUDGETS]:
        det.set_threshold(thr)
        pred = det.predict(d.test)
        spans = regions(pred)
        false = sum(1 for a, b in spans if labels[a:b].sum() == 0)
        truth = regions(labels)
        touched = np.mean([pred[a:b].any() for a, b in truth])
        rows.append(dict(seed=seed, rule=name, f1=point_f1(labels, pred), event_f1=event_f1(labels, pred),
                         false_per_10k=false / normal * 1e4, touched=float(touched), level=float(det.threshold_),
                         fit_s=fit_s))
        print(rows[-1], flush=True)
json.dump(rows, open("/work/study/budget_study.json", "w"))
import pandas as pd
df = pd.DataFrame(rows)
print(df.groupby("rule")[["f1", "event_f1", "false_per_10k", "touched"]].mean().to_string())

# ruff: noqa
import json
import sys
from collections import defaultdict

import numpy as np


def skab(path):
    rows = [json.loads(l) for l in open(path)]
    by = defaultdict(lambda: defaultdict(int)); free = {}
    for r in rows:
        if r["file"] == "anomaly-free":
            free[r["rule"]] = 1e4 * r["events"] / r["rows"]; continue
        for k in ("tp", "fp", "fn", "tn"):
            by[r["rule"]][k] += r[k]
        by[r["rule"]]["files"] += 1
    print("rule            files  F1     FAR    MAR   free ev/10k")
    for rule, c in by.items():
        p = c["tp"] / max(1, c["tp"] + c["fp"]); rec = c["tp"] / max(1, c["tp"] + c["fn"])
        f1 = 2 * p * rec / max(1e-12, p + rec)
        far = c["fp"] / max(1, c["fp"] + c["tn"]); mar = c["fn"] / max(1, c["fn"] + c["tp"])
        print(f"{rule:15s} {c['files']:5d} {f1:.3f} {far:6.1%} {mar:6.1%} {free.get(rule, float('nan')):6.1f}")

def nab(path):
    rows = [json.loads(l) for l in open(path)]
    by = defaultdict(lambda: defaultdict(dict))
    for r in rows:
        by[r["rule"]][r["series"]][r["fraction"]] = r
    print("rule            series  FA/10k@15%  p90   ratio  touched@15%  fit s  oof s")
    for rule, ser in by.items():
        fa = [s[0.15]["fa10k"] for s in ser.values() if 0.15 in s and s[0.15]["fa10k"] is not None]
        ratio = [(max(x["flagged"] for x in s.values()) + 1) / (min(x["flagged"] for x in s.values()) + 1)
                 for s in ser.values() if len(s) == 3]
        tw = [s[0.15]["touched"] for s in ser.values() if 0.15 in s and s[0.15]["touched"] is not None]
        tf = [x["t_fit"] for s in ser.values() for x in s.values()]; to = [x["t_oof"] for s in ser.values() for x in s.values()]
        f1 = [s[0.15].get("f1") for s in ser.values() if 0.15 in s and s[0.15].get("f1") is not None]
        print(f"{rule:15s} {len(ser):6d} {np.median(fa):10.1f} {np.percentile(fa, 90):5.0f} {np.median(ratio):6.2f}x "
              f"{np.mean(tw):8.2f} {np.mean(tf):6.1f} {np.mean(to):6.1f}" + (f"  F1 {np.mean(f1):.3f}" if f1 else ""))

for p in sys.argv[1:]:
    (skab if "skab" in p else nab)(p)

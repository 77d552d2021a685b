"""The ``warm-start`` suite: a level shift in normal operation, a warm start (``det.partial_fit``), and its cost.

A synthetic three-sensor series (sines with noise) whose normal level shifts: sensor 0 moves up by 2 (about three
of its standard deviations) for good. The detector, fitted before the shift with an alarm budget of 2 false alarm
events per 10,000 rows, is scored on 20,000 rows of post-shift normal data before and after ``partial_fit`` on a
10,000-row post-shift normal stretch (both scaler choices), and beside a full refit from scratch on the same stretch.
A real fault after the shift (sensor 1 flat-lined for 60 rows) must still be flagged. The warm start's time is a
ratio against the full refit's, medians of ``repeats`` runs in one process.
"""

from __future__ import annotations

import copy
import statistics
import time

import numpy as np

from reconad.bench.results import markdown_table, torch_threads

BUDGET = (2.0, 10_000)
FAULT = (12_000, 12_060)  # rows of the post-shift test series


def shifted_series(steps: int, seed: int, shift: float) -> np.ndarray:
    """Three sensors: sines of different periods with noise; sensor 0 offset by ``shift``."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None]
    x = np.sin(t / np.array([20.0, 35.0, 50.0]) + np.array([0.0, 1.0, 2.0])) + 0.1 * rng.normal(size=(steps, 3))
    x[:, 0] += shift
    return x.astype(np.float32)


def alarms(det, x: np.ndarray) -> dict:
    """On normal data: alarm events per 10,000 rows, the share of rows flagged, and whether retraining is due."""
    from reconad.live import alarm_rate
    from reconad.thresholds import alarm_events

    scores = det.anomaly_score(x)
    level = float(det.threshold_)
    rate = alarm_rate(det, alarm_events(scores, level), len(x), flagged=int((scores > level).sum()))
    return {"false_alarms_per_10k": rate["rate"], "flagged_share": rate["flagged_share"],
            "retraining_due": rate["due"]}


def fault_flagged(det, x: np.ndarray) -> bool:
    flags = det.predict(x)
    return bool(flags[FAULT[0] : FAULT[1] + det.window_].any())


def run(repeats: int = 3, epochs: int | None = None, progress=None) -> dict:
    """The ``warm-start`` suite on one torch thread."""
    from reconad.detectors import SeriesDetector
    from reconad.thresholds import AlarmBudget

    full_epochs = 20 if epochs is None else epochs
    warm_epochs = max(1, full_epochs // 5)  # a few epochs: the model keeps what it learned
    old = shifted_series(20_000, seed=0, shift=0.0)
    stretch = shifted_series(10_000, seed=1, shift=2.0)
    after = shifted_series(20_000, seed=2, shift=2.0)
    faulty = after.copy()
    faulty[FAULT[0] : FAULT[1], 1] = faulty[FAULT[0], 1]  # flat-lined: a stuck sensor

    def make():
        return SeriesDetector(window=50, epochs=full_epochs, threshold=AlarmBudget(*BUDGET), verbose=False,
                              random_state=0)

    rows, timing = [], {"full_refit": [], "refit": [], "keep": []}
    with torch_threads(1):
        base = make().fit(old)
        rows.append({"model": "fitted before the shift, on pre-shift normal data", **alarms(base, old[-10_000:]),
                     "fault_flagged": None, "seconds": None})
        rows.append({"model": "fitted before the shift", **alarms(base, after),
                     "fault_flagged": fault_flagged(base, faulty), "seconds": None})
        variants = {}
        for _ in range(repeats):
            began = time.perf_counter()
            variants["full_refit"] = make().fit(stretch)
            timing["full_refit"].append(time.perf_counter() - began)
            for scaler in ("refit", "keep"):
                det = copy.deepcopy(base)  # the model fitted before the shift, afresh for each warm start
                began = time.perf_counter()
                det.partial_fit(stretch, epochs=warm_epochs, scaler=scaler)
                timing[scaler].append(time.perf_counter() - began)
                variants[scaler] = det
            if progress:
                progress(f"warm-start: round done, seconds {[(k, round(v[-1], 1)) for k, v in timing.items()]}")
    labels = {"refit": f"partial_fit, {warm_epochs} epochs, scaler refit (default)",
              "keep": f"partial_fit, {warm_epochs} epochs, scaler kept", "full_refit": f"full refit, {full_epochs} "
              "epochs, on the same stretch"}
    for name in ("refit", "keep", "full_refit"):
        det = variants[name]
        rows.append({"model": labels[name], **alarms(det, after), "fault_flagged": fault_flagged(det, faulty),
                     "seconds": statistics.median(timing[name])})
    full = statistics.median(timing["full_refit"])
    return {"args": {"repeats": repeats, "full_epochs": full_epochs, "warm_epochs": warm_epochs, "window": 50,
                     "budget_per_10k": BUDGET[0] * 10_000 / BUDGET[1], "shift": 2.0, "fault": FAULT},
            "rows": rows, "times": timing,
            "warm_over_full_time": statistics.median(timing["refit"]) / full,
            "warm_keep_over_full_time": statistics.median(timing["keep"]) / full,
            "versions": variants["refit"].versions_}


def markdown(payload: dict) -> str:
    args = payload["args"]
    word = {True: "yes", False: "no", None: "–"}
    table = [[r["model"], f"{r['false_alarms_per_10k']:.2f}", f"{100 * r['flagged_share']:.2f}%",
              word[r["fault_flagged"]], "–" if r["seconds"] is None else f"{r['seconds']:.1f}",
              word[r["retraining_due"]]] for r in payload["rows"]]
    return "\n".join([
        "# Warm start after a level shift", "",
        f"`reconad bench warm-start` (or `python benchmarks/warm_start.py`): sensor 0's normal level shifts by "
        f"{args['shift']:g}; the alarm budget is {args['budget_per_10k']:g} false alarm events per 10,000 rows. "
        f"False alarms are counted on 20,000 post-shift normal rows, the fault (sensor 1 stuck for rows "
        f"{args['fault'][0]:,}-{args['fault'][1]:,}) on a copy of them; warm starts and the full refit train on the "
        f"same 10,000-row post-shift normal stretch. Seconds: medians of {args['repeats']} runs, one torch thread.",
        "", markdown_table(["model", "false alarm events / 10k", "rows flagged", "fault flagged", "seconds",
                            "retraining due (reconad.live.alarm_rate)"], table),
        "A level shift the model never saw flags nearly every row: one alarm that never ends, so the events per "
        "10k stay low while the flagged share explodes; `alarm_rate` reads both.", "",
        f"Warm start (scaler refit) over full refit time: {payload['warm_over_full_time']:.2f}; scaler kept: "
        f"{payload['warm_keep_over_full_time']:.2f}.", "",
        f"Machine: {payload.get('machine')}", ""])

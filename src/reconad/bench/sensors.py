"""The NAB and SKAB benchmarks: reconad's defaults next to IsolationForest and PCA window baselines, same splits.

Also on the tables: ``reconad-pca``, reconad with the closed-form ``pca`` family and otherwise default settings
(the fast yardstick), and VUS-PR graded as TSB-AD grades: the buffer is TSB-AD's sliding window for the series
(:func:`reconad.periods.tsb_sliding_window`, from the whole series' first feature) and the scores of the rows after
the training part are min-max scaled, so the figures sit on the scale of the peers' published VUS-PR.

Every detector gets the same training part and fits its label-free threshold the same way (reconad's default
rule, on the scores of the held-out last ``calibration_split`` of the training part); test labels are used only
to evaluate, and the label-using numbers (best-F1 thresholds) are called *oracle*.

- **NAB**: per series, train on the first ``min(floor(0.15 n), 750)`` rows (the probationary period), score the
  whole series, evaluate the rows after the training part: AUC-PR (average precision), ROC-AUC, label-free point
  F1, event F1 and VUS-PR; the mean over series with an anomalous row after the training part.
- **SKAB**: per file, train on the first 400 rows, predict on the rest; point F1, FAR (false-alarm rate, FP /
  negatives) and MAR (missed-alarm rate, FN / positives) pooled over all files, as SKAB's leaderboard, and per
  file.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from reconad.bench.results import markdown_table, pct

DETECTORS = ("reconad", "reconad-pca", "IsolationForest", "PCA")
# TSB-AD detectors' mean VUS-PR on the same NAB split, graded the same way (issue 39's measurement).
NAB_PEERS_VUS_PR = {"POLY": 0.428, "Sub_PCA": 0.390, "Sub_IForest": 0.352, "USAD": 0.350, "IForest": 0.342,
                    "AutoEncoder": 0.257, "CNN": 0.215, "LSTMAD": 0.197}
SKAB_PEER_VUS_PR = {"IForest (TSB-AD)": 0.768}  # the best of 6 TSB-AD detectors on the SKAB split (issue 39)
BASELINE_WINDOW = 16  # the baselines see lagged windows of this many steps (a univariate point has no shape)
_KINDS = {"IsolationForest": "iforest", "PCA": "pca"}
Progress = Callable[[str], None] | None


def make_detector(name: str, epochs: int | None = None, params: dict | None = None):
    """A fresh detector by benchmark name: reconad's defaults (``epochs`` only to shorten tests) or a baseline.

    ``params`` overrides reconad's defaults for a study; the benchmark tables use none. The baselines take
    reconad's calibration split and a fresh copy of its threshold rule.
    """
    from reconad.baselines import WindowBaseline
    from reconad.detectors import SeriesDetector

    reference = SeriesDetector(**{"random_state": 0, "verbose": False, **(params or {})})
    if epochs is not None:
        reference.set_params(epochs=epochs)
    if name == "reconad":
        return reference
    if name == "reconad-pca":
        return reference.set_params(model="pca")
    if name in _KINDS:
        return WindowBaseline(_KINDS[name], window=BASELINE_WINDOW, calibration_split=reference.calibration_split,
                              threshold=reference.new_threshold(), random_state=0)
    raise ValueError(f"unknown benchmark detector {name!r}; choose from {DETECTORS}")


def configuration(epochs: int | None = None, params: dict | None = None) -> dict:
    """What the tables' reconad row ran: its parameter document, the threshold rule, the overrides."""
    reference = make_detector("reconad", epochs, params)
    return {"reconad": reference.params_document(), "threshold": threshold_text(reference.new_threshold()),
            "epochs_override": epochs, "baseline_window": BASELINE_WINDOW}


def threshold_text(threshold) -> str:
    """A threshold rule as it reads in a results file, e.g. ``mean_std(k=4.0)``."""
    return f"{threshold.name}({', '.join(f'{k}={v}' for k, v in threshold.params().items())})"


def _run(name: str, train: np.ndarray, whole: np.ndarray, epochs: int | None, params: dict | None):
    """Fit on ``train``, score ``whole``: (scores, the fitted threshold object, seconds)."""
    began = time.perf_counter()
    detector = make_detector(name, epochs, params).fit(train)
    scores = detector.anomaly_score(whole)
    return scores, detector.threshold_, time.perf_counter() - began


def tsb_vus_pr(labels: np.ndarray, scores: np.ndarray, sliding_window: int) -> float:
    """VUS-PR as TSB-AD's ``get_metrics`` reads it: min-max scaled scores, buffer up to ``sliding_window``."""
    from reconad.metrics import vus_pr

    scores = np.asarray(scores, dtype=np.float64)
    span = scores.max() - scores.min()
    scaled = (scores - scores.min()) / span if span > 0 else np.zeros_like(scores)
    return vus_pr(labels, scaled, max_buffer=int(sliding_window))


def _evaluate(labels: np.ndarray, scores: np.ndarray, threshold, sliding_window: int) -> dict:
    from reconad.metrics import auprc, confusion, event_f1, oracle_best_f1, point_f1, rates, roc_auc

    predicted = threshold.predict(scores)  # the rows after the training part, flagged as one batch
    row = {
        "auprc": auprc(labels, scores),
        "roc_auc": roc_auc(labels, scores),
        "vus_pr": tsb_vus_pr(labels, scores, sliding_window),
        "f1": point_f1(labels, predicted),
        "event_f1": event_f1(labels, predicted),
        "oracle_f1": oracle_best_f1(labels, scores).f1,
    }
    row.update(confusion(labels, predicted))
    pointwise = rates(row)
    row["far"], row["mar"] = pointwise["far"], pointwise["mar"]
    return row


def _mean(rows: list[dict], keys: Sequence[str]) -> dict:
    return {k: float(np.mean([r[k] for r in rows])) for k in keys}


def bench_nab(root=None, names: Sequence[str] | None = None, detectors: Sequence[str] = DETECTORS,
              epochs: int | None = None, progress: Progress = None, params: dict | None = None) -> dict:
    """The NAB protocol for every series (or ``names``); returns ``{"per_series": [...], "summary": {...}}``."""
    from reconad.data.nab import load_nab_series, probation, read_windows
    from reconad.periods import tsb_sliding_window

    windows = read_windows(root)
    rows = []
    for name in names or list(windows):
        series = load_nab_series(name, root, windows)
        n_train = probation(len(series.values))
        test_labels = series.labels[n_train:]
        if not test_labels.any():
            continue  # the protocol's mean is over series with an anomalous row after the training part
        sliding = tsb_sliding_window(series.values)
        for detector in detectors:
            scores, threshold, seconds = _run(detector, series.values[:n_train], series.values, epochs, params)
            row = {"series": name, "detector": detector, "rows": len(series.values), "train_rows": n_train,
                   "sliding_window": sliding}
            row.update(_evaluate(test_labels, scores[n_train:], threshold, sliding))
            row["seconds"] = seconds
            rows.append(row)
            if progress:
                progress(f"{name} {detector}: auprc {row['auprc']:.3f} vus_pr {row['vus_pr']:.3f} "
                         f"f1 {row['f1']:.3f} ({seconds:.1f} s)")
    keys = ("auprc", "roc_auc", "vus_pr", "oracle_f1", "f1", "event_f1", "seconds")
    summary = {}
    for detector in detectors:
        mine = [r for r in rows if r["detector"] == detector]
        if mine:
            summary[detector] = {"series": len(mine), **_mean(mine, keys)}
    return {"protocol": "nab", "per_series": rows, "summary": summary}


def bench_skab(root=None, names: Sequence[str] | None = None, detectors: Sequence[str] = DETECTORS,
               epochs: int | None = None, progress: Progress = None, params: dict | None = None) -> dict:
    """The SKAB protocol for every labelled file (or ``names``); pooled and per-file results."""
    from reconad.data.skab import TRAIN_ROWS, load_skab_file, skab_files
    from reconad.metrics import (
        detection_delays,
        oracle_confusion_at_far,
        oracle_confusion_pooled_far,
        pooled_counts,
        rates,
    )
    from reconad.periods import tsb_sliding_window

    rows, scored = [], {detector: ([], []) for detector in detectors}  # per detector: each file's labels, scores
    for name in names or skab_files(root):
        recording = load_skab_file(name, root)
        x = recording.features.to_numpy(dtype=np.float32)
        labels = recording.labels[TRAIN_ROWS:]
        sliding = tsb_sliding_window(x)
        for detector in detectors:
            scores, threshold, seconds = _run(detector, x[:TRAIN_ROWS], x, epochs, params)
            test = scores[TRAIN_ROWS:]
            scored[detector][0].append(labels)
            scored[detector][1].append(test)
            row = {"file": name, "detector": detector, "rows": len(x), "train_rows": TRAIN_ROWS,
                   "sliding_window": sliding}
            row.update(_evaluate(labels, test, threshold, sliding))
            row["oracle_at_far"] = oracle_confusion_at_far(labels, test)
            row["delays"] = detection_delays(labels, threshold.predict(test))
            row["seconds"] = seconds
            rows.append(row)
            if progress:
                progress(f"{name} {detector}: f1 {row['f1']:.3f} far {row['far']:.3f} ({seconds:.1f} s)")
    summary = {}
    for detector in detectors:
        mine = [r for r in rows if r["detector"] == detector]
        if not mine:
            continue
        pooled = rates(pooled_counts(mine))
        oracle = rates(pooled_counts([r["oracle_at_far"] for r in mine]))
        delays = [d for r in mine for d in r["delays"]]
        found = [d for d in delays if d is not None]
        summary[detector] = {
            "files": len(mine),
            "pooled_f1": pooled["f1"],
            "pooled_far": pooled["far"],
            "pooled_mar": pooled["mar"],
            "pooled_oracle_f1_at_far": oracle["f1"],
            "pooled_ceiling_f1_at_far": rates(oracle_confusion_pooled_far(*scored[detector]))["f1"],
            "events": len(delays),
            "events_found": len(found),
            "median_delay": float(np.median(found)) if found else None,
            **{f"mean_{k}": v
               for k, v in _mean(mine, ("auprc", "roc_auc", "vus_pr", "f1", "oracle_f1", "seconds")).items()},
        }
    return {"protocol": "skab", "per_file": rows, "summary": summary}


def nab_markdown(result: dict) -> str:
    """NAB's tables: the summary per detector, then every series."""
    head = ["detector", "series", "VUS-PR", "AUC-PR", "ROC-AUC", "oracle F1", "label-free F1", "event F1",
            "fit+score s"]
    body = [[d, v["series"], _get(v, "vus_pr"), v["auprc"], v["roc_auc"], v["oracle_f1"], v["f1"], v["event_f1"],
             v["seconds"]] for d, v in result["summary"].items()]
    per = [[r["series"], r["detector"], r["train_rows"], r.get("sliding_window", "–"), _get(r, "vus_pr"), r["auprc"],
            r["roc_auc"], r["f1"], r["event_f1"]] for r in result["per_series"]]
    return (
        "# NAB: reconad defaults vs IsolationForest vs PCA\n\n"
        "`reconad bench nab` (or `python benchmarks/nab.py`). Per series: train on the first min(floor(0.15 n), "
        "750) rows, score the whole series, evaluate the rows after the training part; mean over series with an "
        "anomalous row there. Label-free thresholds (reconad's threshold rule on held-out calibration scores, for "
        "every detector); *oracle F1* picks its threshold with the test labels and is not achievable without them. "
        + VUS_NOTE + "\n\n" + markdown_table(head, body)
        + "\nTSB-AD's detectors on the same split, graded the same way (VUS-PR, from issue 39): "
        + ", ".join(f"{k} {v:.3f}" for k, v in NAB_PEERS_VUS_PR.items()) + ".\n"
        + "\n## Per series\n\n"
        + markdown_table(["series", "detector", "train rows", "sliding window", "VUS-PR", "AUC-PR", "ROC-AUC", "F1",
                          "event F1"], per)
        + _machine_line(result)
    )


def skab_markdown(result: dict) -> str:
    """SKAB's tables: the pooled summary per detector, then every file."""
    from reconad.metrics import ORACLE_FAR

    target = f"{100 * ORACLE_FAR:.0f}%"
    head = ["detector", "files", "pooled F1", "FAR", "MAR", "mean VUS-PR", "mean AUC-PR", "mean ROC-AUC",
            "mean oracle F1",
            f"oracle F1 at FAR {target}", f"oracle F1 at pooled FAR {target}", "events found",
            "median delay (rows)", "s/file"]
    body = [[d, v["files"], v["pooled_f1"], pct(v["pooled_far"]), pct(v["pooled_mar"]), _get(v, "mean_vus_pr"),
             v["mean_auprc"],
             v["mean_roc_auc"], v["mean_oracle_f1"], v["pooled_oracle_f1_at_far"], v["pooled_ceiling_f1_at_far"],
             f"{v['events_found']}/{v['events']}", "–" if v["median_delay"] is None else f"{v['median_delay']:g}",
             v["mean_seconds"]] for d, v in result["summary"].items()]
    per = [[r["file"], r["detector"], r["f1"], pct(r["far"]), pct(r["mar"]), _get(r, "vus_pr"), r["auprc"],
            ", ".join("missed" if d is None else str(d) for d in r["delays"])] for r in result["per_file"]]
    return (
        "# SKAB: reconad defaults vs IsolationForest vs PCA\n\n"
        "`reconad bench skab` (or `python benchmarks/skab.py`). Per file: train on the first 400 rows, predict "
        "label-free on the rest; F1, FAR (false alarms / normal rows) and MAR (missed / anomalous rows) pooled over "
        "all files, as SKAB's leaderboard. *Oracle F1* uses the test labels: per file the best-F1 threshold; "
        f"pooled, each file's lowest threshold that flags at most {target} of its normal rows; and, at pooled FAR "
        f"{target}, the best threshold per file with the false alarms spent where they buy the most recall as long "
        "as the pooled FAR stays within the target (the ceiling of every per-file threshold rule at that rate). "
        "*Delay*: rows from an anomaly's first labelled row to its first label-free flag (a flag that starts earlier "
        "and runs into it counts as 0); the median is over the anomalies found. " + VUS_NOTE + "\n\n"
        + markdown_table(head, body)
        + "\nTSB-AD's best of 6 detectors on the same split, graded the same way (mean VUS-PR, from issue 39): "
        + ", ".join(f"{k} {v:.3f}" for k, v in SKAB_PEER_VUS_PR.items()) + ".\n"
        + "\n## Per file\n\n"
        + markdown_table(["file", "detector", "F1", "FAR", "MAR", "VUS-PR", "AUC-PR", "delay (rows)"], per)
        + _machine_line(result)
    )


VUS_NOTE = ("*VUS-PR* is graded as TSB-AD grades: buffers up to the series' sliding window (the first feature's "
            "dominant period from its autocorrelation, 125 when none; `reconad.periods.tsb_sliding_window`) on "
            "min-max scaled scores of the rows after the training part. *reconad-pca* is reconad's defaults with "
            "`model=\"pca\"`.")


def _get(row: dict, key: str):
    """A value of a results row, or a dash for files written before the column existed."""
    return row.get(key, "–")


def _machine_line(result: dict) -> str:
    configuration = result.get("configuration", {})
    parts = []
    if configuration:
        parts.append(f"Threshold rule (every detector): `{configuration['threshold']}`; baselines on windows of "
                     f"{configuration['baseline_window']} steps.")
    if "machine" in result:
        parts.append(f"Machine: {result['machine']}")
    return "\n" + "\n\n".join(parts) + "\n" if parts else ""


def run_nab(epochs: int | None = None, root=None, names: Sequence[str] | None = None, progress: Progress = None):
    """The NAB suite as ``reconad bench nab`` runs it: the payload :func:`nab_markdown` reads."""
    result = bench_nab(root=root, names=names, epochs=epochs, progress=progress)
    result["configuration"] = configuration(epochs)
    return result


def run_skab(epochs: int | None = None, root=None, names: Sequence[str] | None = None, progress: Progress = None):
    """The SKAB suite as ``reconad bench skab`` runs it: the payload :func:`skab_markdown` reads."""
    result = bench_skab(root=root, names=names, epochs=epochs, progress=progress)
    result["configuration"] = configuration(epochs)
    return result

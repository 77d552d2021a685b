"""The NAB and SKAB benchmarks: reconad's defaults next to IsolationForest and a PCA baseline, same splits.

Used by ``reconad bench nab|skab [--preset NAME]`` and by ``benchmarks/nab.py`` / ``benchmarks/skab.py``. Every
detector gets the same training part and fits its label-free threshold the same way (reconad's threshold rule, the
default or a preset's, on the scores of the held-out last ``calibration_split`` of the training part); test labels
are used only to evaluate, and the label-using numbers (best-F1 thresholds) are called *oracle*.

- **NAB**: per series, train on the first ``min(floor(0.15 n), 750)`` rows (the probationary period), score the
  whole series, evaluate the rows after the training part: AUC-PR (average precision), ROC-AUC, label-free
  point F1 and event F1; the mean over series with an anomalous row after the training part.
- **SKAB**: per file, train on the first 400 rows, predict on the rest; point F1, FAR (false-alarm rate, FP /
  negatives) and MAR (missed-alarm rate, FN / positives) pooled over all files, as SKAB's leaderboard, and
  per file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import StandardScaler

from reconad.data.nab import load_nab_series, probation, read_windows
from reconad.data.skab import TRAIN_ROWS, load_skab_file, skab_files
from reconad.data.windows import fold_windows, sliding_windows
from reconad.detector import SeriesDetector
from reconad.errors import InputError
from reconad.metrics import auprc, detection_delays, event_f1, oracle_best_f1, point_f1, roc_auc
from reconad.presets import get_preset, list_presets
from reconad.thresholds import Threshold

log = logging.getLogger("reconad")

DETECTORS = ("reconad", "IsolationForest", "PCA")
BASELINE_WINDOW = 16  # the baselines see lagged windows of this many steps (a univariate point has no shape)


class _Baseline:
    """IsolationForest or PCA reconstruction on standardised lagged windows, scored per step like reconad.

    A step's score is the mean over the windows covering it of the window's anomaly score (IsolationForest:
    ``-score_samples``; PCA: squared reconstruction error from the components keeping 95% of the variance).
    The threshold is reconad's default rule fitted on the scores of the held-out calibration tail.
    """

    def __init__(self, kind: str, calibration_split: float, threshold, random_state: int = 0):
        self.kind, self.calibration_split, self.threshold, self.random_state = (
            kind,
            calibration_split,
            threshold,
            random_state,
        )

    def _window(self, n_rows: int) -> int:
        return max(2, min(BASELINE_WINDOW, n_rows // 4))

    def fit(self, x: np.ndarray) -> _Baseline:
        x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
        n_cal = int(round(len(x) * self.calibration_split))
        train, cal = x[: len(x) - n_cal], x[len(x) - n_cal :]
        self.window_ = min(self._window(len(train)), max(2, n_cal))
        self.scaler_ = StandardScaler().fit(train)
        flat = self._flat(self.scaler_.transform(train))
        if self.kind == "IsolationForest":
            self.model_ = IsolationForest(random_state=self.random_state).fit(flat)
        else:
            self.model_ = PCA(n_components=0.95, svd_solver="full", random_state=self.random_state).fit(flat)
        self.threshold_ = self.threshold.fit(self.anomaly_score(cal))
        return self

    def _flat(self, x: np.ndarray) -> np.ndarray:
        return sliding_windows(x, self.window_).reshape(-1, self.window_ * x.shape[1])  # (N, W * D)

    def _window_scores(self, flat: np.ndarray) -> np.ndarray:
        if self.kind == "IsolationForest":
            return -self.model_.score_samples(flat)
        recon = self.model_.inverse_transform(self.model_.transform(flat))
        return ((recon - flat) ** 2).mean(axis=1)

    def anomaly_score(self, x: np.ndarray) -> np.ndarray:
        x = self.scaler_.transform(np.asarray(x, dtype=np.float64).reshape(len(x), -1))
        per_window = self._window_scores(self._flat(x))  # (N,)
        values = np.repeat(per_window[:, None], self.window_, axis=1)  # (N, W)
        return fold_windows(values, np.arange(len(per_window)), len(x))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.threshold_.predict(self.anomaly_score(x))


def make_detector(name: str, epochs: int | None = None, params: dict | None = None):
    """A fresh detector by benchmark name: reconad's defaults (``epochs`` only to shorten tests) or a baseline.

    ``params`` overrides reconad's defaults (for trade-off studies such as ``benchmarks/spread.py``; the
    benchmark tables use none).
    """
    reference = SeriesDetector(**{"random_state": 0, "verbose": False, **(params or {})})  # params may set the seed
    if epochs is not None:
        reference.set_params(epochs=epochs)
    if name == "reconad":
        return reference
    if name in ("IsolationForest", "PCA"):
        return _Baseline(name, reference.calibration_split, reference._threshold_spec())
    raise ValueError(f"unknown benchmark detector {name!r}; choose from {DETECTORS}")


def _run(
    name: str, train: np.ndarray, whole: np.ndarray, epochs: int | None, params: dict | None = None
) -> tuple[np.ndarray, float, float]:
    """Fit on ``train``, score ``whole``: (scores, the fitted threshold object, seconds)."""
    began = time.perf_counter()
    detector = make_detector(name, epochs, params).fit(train)
    scores = detector.anomaly_score(whole)
    return scores, detector.threshold_, time.perf_counter() - began


def confusion(labels: np.ndarray, predicted: np.ndarray) -> dict:
    """Point-wise counts ``{"tp", "fp", "fn", "tn"}`` of 0/1 predictions; several files' counts add up."""
    labels, predicted = labels.astype(bool), predicted.astype(bool)
    return {
        "tp": int((labels & predicted).sum()),
        "fp": int((~labels & predicted).sum()),
        "fn": int((labels & ~predicted).sum()),
        "tn": int((~labels & ~predicted).sum()),
    }


ORACLE_FAR = 0.10  # SKAB's target false-alarm rate: the oracle column asks what F1 the scores allow at it


def oracle_confusion_at_far(labels: np.ndarray, scores: np.ndarray, far: float = ORACLE_FAR) -> dict:
    """Confusion counts at the lowest threshold that flags at most ``far`` of the normal rows.

    The threshold is read off the normal rows' scores, so it uses the labels: an *oracle*, the best recall a
    threshold can buy at that false-alarm rate, not something a detector can do.
    """
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    normal = np.sort(scores[~labels])
    allowed = int(np.floor(far * len(normal)))  # normal rows that may be flagged
    if allowed >= len(normal):  # every normal row may be flagged (or there is none): flag everything
        return confusion(labels, np.ones(len(labels), dtype=bool))
    threshold = normal[len(normal) - allowed - 1]  # scores strictly above it: at most `allowed` normal rows
    return confusion(labels, scores > threshold)


def _best_tp_within(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``best[f]``: the most anomalous rows any one threshold flags while flagging at most ``f`` normal rows.

    Thresholds flag ``scores > t``, so tied scores are flagged together; ``f`` runs from 0 to the normal rows.
    """
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    values, groups = np.unique(-scores, return_inverse=True)  # highest score first; equal scores share a group
    tp = np.concatenate([[0], np.cumsum(np.bincount(groups, weights=labels, minlength=len(values)))])
    fp = np.concatenate([[0], np.cumsum(np.bincount(groups, weights=~labels, minlength=len(values)))])
    best = np.full(int((~labels).sum()) + 1, -1, dtype=np.int64)
    np.maximum.at(best, fp.astype(np.int64), tp.astype(np.int64))  # each threshold's counts, flagging down to it
    return np.maximum.accumulate(best)  # at most f false alarms: the best of every threshold with fewer


def oracle_confusion_pooled_far(labels: Sequence, scores: Sequence, far: float = ORACLE_FAR) -> dict:
    """Pooled counts of the best-F1 choice of one threshold *per file* with at most ``far`` false alarms pooled.

    ``labels`` and ``scores`` hold one array per file. Unlike :func:`oracle_confusion_at_far`, which holds every
    file to ``far`` of its own normal rows, the false alarms may be spent where they buy the most recall (none in
    one file, a third of another), as long as the pooled false-alarm rate stays at or under ``far``: the ceiling
    of *every* per-file threshold rule at that rate, which no label-free rule can exceed. It reads the labels, so
    it is an *oracle*. A dynamic programme over the pooled false-alarm budget (a multiple-choice knapsack): the
    most anomalous rows flagged with at most ``b`` false alarms, file by file, then the best F1 over ``b``.
    """
    labels = [np.asarray(y).astype(bool) for y in labels]
    scores = [np.asarray(s, dtype=np.float64) for s in scores]
    if len(labels) != len(scores) or any(y.shape != s.shape for y, s in zip(labels, scores)):
        raise ValueError("labels and scores must hold one array per file, each pair of the same length")
    normals = sum(int((~y).sum()) for y in labels)
    positives = sum(int(y.sum()) for y in labels)
    budget = int(np.floor(far * normals))  # pooled false alarms allowed
    most = np.zeros(budget + 1, dtype=np.int64)  # most[b]: anomalous rows flagged with at most b false alarms
    for y, s in zip(labels, scores):
        best = _best_tp_within(y, s)[: budget + 1]  # (min(normals of the file, budget) + 1,)
        stacked = np.full((len(best), budget + 1), -1, dtype=np.int64)  # spend f in this file, b - f before it
        for f in range(len(best)):
            stacked[f, f:] = most[: budget + 1 - f] + best[f]
        most = stacked.max(axis=0)
    spent = np.arange(budget + 1)
    f1 = 2 * most / np.maximum(positives + most + spent, 1)  # 2 tp / (2 tp + fp + fn), 0 when nothing is found
    b = int(np.argmax(f1))  # the smallest budget at the best F1 spends all of it: its false alarms are exactly b
    tp = int(most[b])
    return {"tp": tp, "fp": b, "fn": positives - tp, "tn": normals - b}


def rates(c: dict) -> dict:
    """Precision, recall, F1, FAR (false alarms / normal rows) and MAR (misses / anomalous rows) of counts ``c``."""
    precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
    recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    far = c["fp"] / (c["fp"] + c["tn"]) if c["fp"] + c["tn"] else 0.0
    mar = c["fn"] / (c["fn"] + c["tp"]) if c["fn"] + c["tp"] else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "far": far, "mar": mar}


def _evaluate(labels: np.ndarray, scores: np.ndarray, threshold: Threshold) -> dict:
    predicted = threshold.predict(scores)  # the rows after the training part, flagged as one batch
    row = {
        "auprc": auprc(labels, scores),
        "roc_auc": roc_auc(labels, scores),
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


def bench_nab(
    root=None,
    names: Sequence[str] | None = None,
    detectors: Sequence[str] = DETECTORS,
    epochs: int | None = None,
    progress: Callable[[str], None] | None = None,
    params: dict | None = None,
) -> dict:
    """The NAB protocol for every series (or ``names``); returns ``{"per_series": [...], "summary": {...}}``."""
    windows = read_windows(root)
    rows = []
    for name in names or list(windows):
        series = load_nab_series(name, root, windows)
        n_train = probation(len(series.values))
        test_labels = series.labels[n_train:]
        if not test_labels.any():
            continue  # the protocol's mean is over series with an anomalous row after the training part
        for detector in detectors:
            scores, threshold, seconds = _run(detector, series.values[:n_train], series.values, epochs, params)
            row = {"series": name, "detector": detector, "rows": len(series.values), "train_rows": n_train}
            row.update(_evaluate(test_labels, scores[n_train:], threshold))
            row["seconds"] = seconds
            rows.append(row)
            if progress:
                progress(f"{name} {detector}: auprc {row['auprc']:.3f} f1 {row['f1']:.3f} ({seconds:.1f} s)")
    keys = ("auprc", "roc_auc", "oracle_f1", "f1", "event_f1", "seconds")
    summary = {}
    for detector in detectors:
        mine = [r for r in rows if r["detector"] == detector]
        if mine:
            summary[detector] = {"series": len(mine), **_mean(mine, keys)}
    return {"protocol": "nab", "per_series": rows, "summary": summary}


def bench_skab(
    root=None,
    names: Sequence[str] | None = None,
    detectors: Sequence[str] = DETECTORS,
    epochs: int | None = None,
    progress: Callable[[str], None] | None = None,
    params: dict | None = None,
) -> dict:
    """The SKAB protocol for every labelled file (or ``names``); pooled and per-file results."""
    rows, scored = [], {detector: ([], []) for detector in detectors}  # per detector: each file's labels, scores
    for name in names or skab_files(root):
        recording = load_skab_file(name, root)
        x = recording.features.to_numpy(dtype=np.float32)
        for detector in detectors:
            scores, threshold, seconds = _run(detector, x[:TRAIN_ROWS], x, epochs, params)
            scored[detector][0].append(recording.labels[TRAIN_ROWS:])
            scored[detector][1].append(scores[TRAIN_ROWS:])
            row = {"file": name, "detector": detector, "rows": len(x), "train_rows": TRAIN_ROWS}
            row.update(_evaluate(recording.labels[TRAIN_ROWS:], scores[TRAIN_ROWS:], threshold))
            row["oracle_at_far"] = oracle_confusion_at_far(recording.labels[TRAIN_ROWS:], scores[TRAIN_ROWS:])
            row["delays"] = detection_delays(recording.labels[TRAIN_ROWS:], threshold.predict(scores[TRAIN_ROWS:]))
            row["seconds"] = seconds
            rows.append(row)
            if progress:
                progress(f"{name} {detector}: f1 {row['f1']:.3f} far {row['far']:.3f} ({seconds:.1f} s)")
    summary = {}
    for detector in detectors:
        mine = [r for r in rows if r["detector"] == detector]
        if not mine:
            continue
        pooled = {k: sum(r[k] for r in mine) for k in ("tp", "fp", "fn", "tn")}
        pooled_rates = rates(pooled)
        oracle = rates({k: sum(r["oracle_at_far"][k] for r in mine) for k in ("tp", "fp", "fn", "tn")})
        delays = [d for r in mine for d in r["delays"]]
        found = [d for d in delays if d is not None]
        summary[detector] = {
            "files": len(mine),
            "pooled_f1": pooled_rates["f1"],
            "pooled_far": pooled_rates["far"],
            "pooled_mar": pooled_rates["mar"],
            "pooled_oracle_f1_at_far": oracle["f1"],
            "pooled_ceiling_f1_at_far": rates(oracle_confusion_pooled_far(*scored[detector]))["f1"],
            "events": len(delays),
            "events_found": len(found),
            "median_delay": float(np.median(found)) if found else None,
            **{f"mean_{k}": v for k, v in _mean(mine, ("auprc", "roc_auc", "f1", "oracle_f1", "seconds")).items()},
        }
    return {"protocol": "skab", "per_file": rows, "summary": summary}


def summary_line(summary: dict) -> str:
    """One detector's summary as ``key value`` pairs on one line: floats to 3 decimals, ``None`` as ``–``."""
    def text(value) -> str:
        return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    return " ".join(f"{key} {text(value)}" for key, value in summary.items())


def _table(header: list[str], rows: list[list]) -> str:
    def cell(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def threshold_text(threshold: Threshold) -> str:
    """A threshold rule as it reads in a results file, e.g. ``mean_std(k=4.0)``."""
    return f"{threshold.name}({', '.join(f'{k}={v}' for k, v in threshold.params().items())})"


def _configured(result: dict) -> str:
    """Whose reconad the tables show: the defaults, or the preset the run was given."""
    preset = result.get("configuration", {}).get("preset")
    return "reconad defaults" if preset is None else f"reconad preset `{preset}`"


def _preset_note(result: dict) -> str:
    configuration = result.get("configuration", {})
    preset = configuration.get("preset")
    if preset is None:
        return ""
    seed = configuration["reconad"]["random_state"]
    return (f"reconad is `SeriesDetector.from_preset(\"{preset}\", random_state={seed})`, not the defaults; both "
            f"baselines fit its threshold rule, `{configuration['reconad']['threshold']}`.\n\n")


def nab_markdown(result: dict) -> str:
    s = result["summary"]
    head = ["detector", "series", "AUC-PR", "ROC-AUC", "oracle F1", "label-free F1", "event F1", "fit+score s"]
    body = [
        [d, v["series"], v["auprc"], v["roc_auc"], v["oracle_f1"], v["f1"], v["event_f1"], v["seconds"]]
        for d, v in s.items()
    ]
    per = [
        [r["series"], r["detector"], r["train_rows"], r["auprc"], r["roc_auc"], r["f1"], r["event_f1"]]
        for r in result["per_series"]
    ]
    return (
        f"# NAB: {_configured(result)} vs IsolationForest vs PCA\n\n"
        + _preset_note(result)
        + "Per series: train on the first min(floor(0.15 n), 750) rows, score the whole series, evaluate the rows "
        "after the training part; mean over series with an anomalous row there. Label-free thresholds (reconad's "
        "threshold rule on held-out calibration scores, for every detector); *oracle F1* picks its threshold with "
        "the test labels and is not achievable without them.\n\n"
        + _table(head, body)
        + "\n## Per series\n\n"
        + _table(["series", "detector", "train rows", "AUC-PR", "ROC-AUC", "F1", "event F1"], per)
    )


def skab_markdown(result: dict) -> str:
    s = result["summary"]
    head = ["detector", "files", "pooled F1", "FAR", "MAR", "mean AUC-PR", "mean ROC-AUC", "mean oracle F1",
            f"oracle F1 at FAR {100 * ORACLE_FAR:.0f}%", f"oracle F1 at pooled FAR {100 * ORACLE_FAR:.0f}%",
            "events found", "median delay (rows)", "s/file"]
    body = [
        [
            d,
            v["files"],
            v["pooled_f1"],
            f"{100 * v['pooled_far']:.1f}%",
            f"{100 * v['pooled_mar']:.1f}%",
            v["mean_auprc"],
            v["mean_roc_auc"],
            v["mean_oracle_f1"],
            v["pooled_oracle_f1_at_far"],
            v["pooled_ceiling_f1_at_far"],
            f"{v['events_found']}/{v['events']}",
            "–" if v["median_delay"] is None else f"{v['median_delay']:g}",
            v["mean_seconds"],
        ]
        for d, v in s.items()
    ]
    per = [
        [r["file"], r["detector"], r["f1"], f"{100 * r['far']:.1f}%", f"{100 * r['mar']:.1f}%", r["auprc"],
         ", ".join("missed" if d is None else str(d) for d in r["delays"])]
        for r in result["per_file"]
    ]
    return (
        f"# SKAB: {_configured(result)} vs IsolationForest vs PCA\n\n"
        + _preset_note(result)
        + "Per file: train on the first 400 rows, predict label-free on the rest; F1, FAR (false alarms / normal "
        "rows) and MAR (missed / anomalous rows) pooled over all files, as SKAB's leaderboard. *Oracle F1* uses "
        "the test labels: per file the best-F1 threshold; pooled, each file's lowest threshold that flags at "
        f"most {100 * ORACLE_FAR:.0f}% of its normal rows; and, at pooled FAR {100 * ORACLE_FAR:.0f}%, the best "
        "threshold per file with the false alarms spent where they buy the most recall as long as the pooled FAR "
        "stays within the target (the ceiling of every per-file threshold rule at that rate). *Delay*: rows from "
        "an anomaly's first labelled row to its first label-free flag (a flag that starts earlier and runs into it "
        "counts as 0); the median is over the anomalies found.\n\n"
        + _table(head, body)
        + "\n## Per file\n\n"
        + _table(["file", "detector", "F1", "FAR", "MAR", "AUC-PR", "delay (rows)"], per)
    )


SUITES = {"nab": (bench_nab, nab_markdown), "skab": (bench_skab, skab_markdown)}


def preset_params(preset: str | None) -> dict | None:
    """The parameters of a ``SeriesDetector`` preset for a benchmark run (None: the defaults)."""
    if preset is None:
        return None
    kind, params = get_preset(preset)
    if kind != "SeriesDetector":
        raise InputError(f"preset {preset!r} configures an {kind}; the NAB and SKAB benchmarks take a series "
                         f"preset: {', '.join(list_presets('SeriesDetector'))}")
    return params


def results_stem(suite: str, preset: str | None) -> str:
    """The results' file name without extension: ``skab`` for the defaults, ``skab-whole-recording`` for a preset,
    so a preset's run never overwrites the defaults' tables."""
    return suite if preset is None else f"{suite}-{preset}"


def run_suite(
    suite: str,
    out_dir=None,
    root=None,
    names: Sequence[str] | None = None,
    epochs: int | None = None,
    progress: Callable[[str], None] | None = None,
    preset: str | None = None,
) -> dict:
    """Run ``suite`` ("nab" or "skab") and, with ``out_dir``, write ``<suite>.json`` and ``<suite>.md`` there.

    With ``preset`` (a ``SeriesDetector`` preset) reconad and both baselines' thresholds take the preset's
    configuration, and the files are ``<suite>-<preset>.json`` / ``.md``.
    """
    import json
    import os
    import platform
    from pathlib import Path

    import torch

    from reconad import __version__
    from reconad.persistence import atomic_write_bytes

    if suite not in SUITES:
        raise ValueError(f"unknown benchmark suite {suite!r}; choose from {sorted(SUITES)}")
    bench, markdown = SUITES[suite]
    params = preset_params(preset)
    began = time.perf_counter()
    logging.getLogger("reconad").setLevel(logging.ERROR)  # every NAB / SKAB training part shrinks the window
    try:
        result = bench(root=root, names=names, epochs=epochs, progress=progress, params=params)
    finally:
        logging.getLogger("reconad").setLevel(logging.NOTSET)
    reference = make_detector("reconad", epochs, params)
    result["configuration"] = {
        "preset": preset,
        "reconad": reference.get_params() | {"threshold": threshold_text(reference._threshold_spec())},
        "epochs_override": epochs,
        "baseline_window": BASELINE_WINDOW,
    }
    result["machine"] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "reconad": __version__,
    }
    result["seconds"] = time.perf_counter() - began
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        stem = results_stem(suite, preset)
        atomic_write_bytes(out / f"{stem}.json", (json.dumps(result, indent=2) + "\n").encode())
        atomic_write_bytes(out / f"{stem}.md", markdown(result).encode())
    return result

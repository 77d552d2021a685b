"""The alarms benchmark (issue 34's protocol): how many false alarms the defaults raise, and how stable they are.

Everything goes through the public detector API with the defaults; the labels are read only to count.

- **NAB**, every series: fit ``SeriesDetector(random_state=0, verbose=False)`` on the first 10%, 15% and 20% of
  the rows (at most 750 / 1,125 / 1,500) and predict the rows after the longest of the three (the same evaluation
  rows for all three fits). Per series and fit: *false alarms*, the flagged regions (runs of flagged rows) that
  touch no labelled window, per 10,000 normal rows of the evaluation part; *windows touched*, the share of the
  labelled windows in the evaluation part that a flagged row touches (series without one are left out of its
  mean); the share of rows flagged. Across the three fits: the *flagged-share ratio* ``(max flagged + 1) /
  (min flagged + 1)``. Summaries: medians (and the 90th percentile of false alarms) over series, the mean of
  windows touched; the 15% fit is the headline, the 10% and 20% fits are given next to it.
- **SKAB**: per labelled file, fit on rows ``[:400]`` and predict the rest: F1, FAR and MAR pooled over the files
  and per file. The anomaly-free recording: fit on its first 400 rows, predict the rest; every flag there is a
  false alarm, counted as alarm events (runs of flagged rows) per 10,000 rows.
- **Baselines**: ``WindowBaseline("iforest")`` and ``WindowBaseline("pca")`` with their own defaults (their own
  label-free rule), fitted and measured the same way.
- **Threshold rules**: ``thresholds`` names extra rules of ``reconad.thresholds.THRESHOLDS`` (or ``"default"``,
  the detector's own rule); each is applied to the *same* fitted reconad detectors with ``set_threshold`` (no
  refit) and is one more row of every summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from reconad.bench.results import markdown_table, pct
from reconad.metrics.regions import regions

FRACTIONS = (0.10, 0.15, 0.20)  # of the series' rows, for the three NAB fits
CAPS = (750, 1125, 1500)  # at most this many training rows for each fraction
HEADLINE = 0.15  # the fit whose per-fit measures are the headline
PER = 10_000  # alarms are counted per this many rows
BASELINES = {"IsolationForest": "iforest", "PCA": "pca"}
DETECTORS = ("reconad", *BASELINES)
FOLDS = "folds"  # the pseudo-rule: every rule again after det.calibrate(train, out_of_fold=True)
Progress = Callable[[str], None] | None


# ---- the measures: pure functions of 0/1 arrays ------------------------------------------------------------------

def false_alarms(labels, flags) -> int:
    """How many flagged regions (runs of flagged rows) touch no labelled row."""
    labels = np.asarray(labels) != 0
    return sum(1 for start, end in regions(flags) if not labels[start:end].any())


def false_alarms_per_10k(labels, flags) -> float | None:
    """:func:`false_alarms` per 10,000 normal (unlabelled) rows; None without normal rows."""
    normal = int(np.count_nonzero(np.asarray(labels) == 0))
    return PER * false_alarms(labels, flags) / normal if normal else None


def windows_touched(labels, flags) -> float | None:
    """The share of labelled windows (runs of labelled rows) with at least one flagged row; None without any."""
    flags = np.asarray(flags) != 0
    spans = regions(labels)
    return sum(bool(flags[start:end].any()) for start, end in spans) / len(spans) if spans else None


def flagged_ratio(flagged_counts: Sequence[int]) -> float:
    """How much the number of flagged rows moves between fits: ``(max + 1) / (min + 1)``."""
    return (max(flagged_counts) + 1) / (min(flagged_counts) + 1)


def events_per_10k(flags) -> float:
    """Alarm events (runs of flagged rows) per 10,000 rows, on data where every flag is false."""
    return PER * len(regions(flags)) / len(flags) if len(flags) else 0.0


def train_sizes(n_rows: int) -> tuple[int, ...]:
    """The NAB training rows of the three fits: ``min(floor(f * n), cap)`` for each fraction."""
    return tuple(min(int(np.floor(f * n_rows)), cap) for f, cap in zip(FRACTIONS, CAPS))


# ---- fitting and flagging ----------------------------------------------------------------------------------------

def parse_rules(thresholds) -> list[str]:
    """The extra threshold rules: a ``"a,b"`` string or a sequence of names; ``"default"`` is the detector's own,
    ``"folds"`` adds rows of the default and every other rule after ``calibrate(train, out_of_fold=True)``.

    Returns the names besides ``"default"`` (whose row is always there), in order, without repeats.
    """
    from reconad.thresholds import THRESHOLDS

    if thresholds is None:
        return []
    names = thresholds.split(",") if isinstance(thresholds, str) else list(thresholds)
    rules: list[str] = []
    for name in (str(n).strip() for n in names):
        if name not in THRESHOLDS and name not in ("default", FOLDS):
            raise ValueError(f"unknown threshold rule {name!r}; choose from default, {FOLDS}, "
                             f"{', '.join(THRESHOLDS)}")
        if name != "default" and name not in rules:
            rules.append(name)
    return rules


def row_names(rules: Sequence[str]) -> list[str]:
    """The summary rows, in order: reconad's default rule, each extra rule (with ``folds``: the same again on the
    out-of-fold calibration), the baselines."""
    plain = [f"reconad {rule}" for rule in rules if rule != FOLDS]
    folds = ["reconad folds", *(f"reconad folds {rule}" for rule in rules if rule != FOLDS)] if FOLDS in rules else []
    return ["reconad", *plain, *folds, *BASELINES]


def _new_detector(name: str, epochs: int | None):
    if name in BASELINES:
        from reconad.baselines import WindowBaseline

        return WindowBaseline(BASELINES[name])
    from reconad.detectors import SeriesDetector

    detector = SeriesDetector(random_state=0, verbose=False)
    return detector if epochs is None else detector.set_params(epochs=epochs)


def _fit_and_flag(name: str, train: np.ndarray, rest: np.ndarray, rules: Sequence[str], epochs: int | None):
    """Fit ``name`` on ``train`` and flag ``rest`` with each rule: ``{row name: (flags, threshold, seconds)}``.

    ``seconds`` is the fit's time; the ``folds`` rows add the out-of-fold calibration's.
    """
    detector = _new_detector(name, epochs)
    began = time.perf_counter()
    detector.fit(train)
    seconds = time.perf_counter() - began
    flagged = {name: (detector.predict(rest), float(detector.threshold_), seconds)}
    if name != "reconad":
        return flagged
    plain = [rule for rule in rules if rule != FOLDS]
    for rule in plain:  # the same fitted model: only the threshold is refitted, on the calibration scores
        detector.set_threshold(rule)
        flagged[f"reconad {rule}"] = (detector.predict(rest), float(detector.threshold_), seconds)
    if FOLDS in rules:  # the default rule, then each rule, on the tail plus out-of-fold scores of the whole log
        began = time.perf_counter()
        detector.set_params(threshold=None).calibrate(train, out_of_fold=True)
        total = seconds + time.perf_counter() - began
        flagged["reconad folds"] = (detector.predict(rest), float(detector.threshold_), total)
        for rule in plain:
            detector.set_threshold(rule)
            flagged[f"reconad folds {rule}"] = (detector.predict(rest), float(detector.threshold_), total)
    return flagged


# ---- NAB ---------------------------------------------------------------------------------------------------------

def bench_nab(root=None, series: Sequence[str] | None = None, rules: Sequence[str] = (), epochs: int | None = None,
              progress: Progress = None) -> dict:
    """Three fits per NAB series; one row per series, detector row and fit, and the summaries."""
    from reconad.data.nab import load_nab_series, read_windows

    windows = read_windows(root)
    rows = []
    for name in series or list(windows):
        s = load_nab_series(name, root, windows)
        sizes = train_sizes(len(s.values))
        rest, labels = s.values[max(sizes):], s.labels[max(sizes):]
        for fraction, n_train in zip(FRACTIONS, sizes):
            for detector in DETECTORS:
                flagged = _fit_and_flag(detector, s.values[:n_train], rest, rules, epochs)
                for row_name, (flags, threshold, seconds) in flagged.items():
                    rows.append({
                        "series": name, "detector": row_name, "fraction": fraction, "train_rows": n_train,
                        "eval_rows": len(rest), "windows": len(regions(labels)), "flagged": int(flags.sum()),
                        "false_alarms": false_alarms(labels, flags),
                        "false_alarms_per_10k": false_alarms_per_10k(labels, flags),
                        "windows_touched": windows_touched(labels, flags), "share_flagged": float(flags.mean()),
                        "threshold": threshold, "fit_seconds": seconds,
                    })
                if progress:
                    progress(f"nab {name} {detector} {fraction:.0%} ({n_train} rows): flagged "
                             f"{rows[-len(flagged)]['flagged']}/{len(rest)} ({seconds:.1f} s)")
    return {"per_series": rows, "summary": nab_summary(rows, row_names(rules))}


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def nab_summary(rows: list[dict], names: Sequence[str]) -> dict:
    """Per detector row: per fit the false alarms' median and 90th percentile, windows touched (mean), share
    flagged (median) and fit seconds (mean); over the fits the flagged-share ratio's median."""
    summary = {}
    for name in names:
        mine = [r for r in rows if r["detector"] == name]
        if not mine:
            continue
        per_fit = {}
        for fraction in FRACTIONS:
            fit = [r for r in mine if r["fraction"] == fraction]
            alarms = [r["false_alarms_per_10k"] for r in fit if r["false_alarms_per_10k"] is not None]
            per_fit[f"{fraction:.2f}"] = {
                "false_alarms_per_10k_median": _median(alarms),
                "false_alarms_per_10k_p90": float(np.percentile(alarms, 90)) if alarms else None,
                "windows_touched_mean": _mean(r["windows_touched"] for r in fit),
                "share_flagged_median": _median(r["share_flagged"] for r in fit),
                "fit_seconds_mean": _mean(r["fit_seconds"] for r in fit),
            }
        counts: dict[str, list[int]] = {}
        for r in mine:
            counts.setdefault(r["series"], []).append(r["flagged"])
        ratios = [flagged_ratio(c) for c in counts.values()]
        summary[name] = {"series": len(counts), "series_with_windows": sum(
            1 for r in mine if r["fraction"] == HEADLINE and r["windows_touched"] is not None),
            "flagged_ratio_median": _median(ratios), "per_fit": per_fit}
    return summary


# ---- SKAB --------------------------------------------------------------------------------------------------------

def bench_skab(root=None, files: Sequence[str] | None = None, rules: Sequence[str] = (), epochs: int | None = None,
               progress: Progress = None) -> dict:
    """SKAB's 400-row split per labelled file, and the anomaly-free recording; per-file rows and the summaries."""
    from reconad.data.skab import TRAIN_ROWS, load_skab_anomaly_free, load_skab_file, skab_files
    from reconad.metrics import confusion, rates

    rows = []
    for name in files or skab_files(root):
        recording = load_skab_file(name, root)
        x = recording.features.to_numpy(dtype=np.float32)
        labels = recording.labels[TRAIN_ROWS:]
        for detector in DETECTORS:
            flagged = _fit_and_flag(detector, x[:TRAIN_ROWS], x[TRAIN_ROWS:], rules, epochs)
            for row_name, (flags, threshold, seconds) in flagged.items():
                counts = confusion(labels, flags)
                r = rates(counts)
                rows.append({"file": name, "detector": row_name, "eval_rows": len(labels), **counts,
                             "f1": r["f1"], "far": r["far"], "mar": r["mar"],
                             "false_alarms": false_alarms(labels, flags),
                             "false_alarms_per_10k": false_alarms_per_10k(labels, flags),
                             "threshold": threshold, "fit_seconds": seconds})
            if progress:
                progress(f"skab {name} {detector}: f1 {rows[-len(flagged)]['f1']:.3f} ({seconds:.1f} s)")
    free = load_skab_anomaly_free(root)
    x = free.features.to_numpy(dtype=np.float32)
    anomaly_free = []
    for detector in DETECTORS:
        flagged = _fit_and_flag(detector, x[:TRAIN_ROWS], x[TRAIN_ROWS:], rules, epochs)
        for row_name, (flags, threshold, seconds) in flagged.items():
            anomaly_free.append({"detector": row_name, "eval_rows": len(flags), "events": len(regions(flags)),
                                 "events_per_10k": events_per_10k(flags), "share_flagged": float(flags.mean()),
                                 "threshold": threshold, "fit_seconds": seconds})
        if progress:
            progress(f"skab anomaly-free {detector}: {anomaly_free[-len(flagged)]['events']} events ({seconds:.1f} s)")
    return {"per_file": rows, "anomaly_free": anomaly_free,
            "summary": skab_summary(rows, anomaly_free, row_names(rules))}


def skab_summary(rows: list[dict], anomaly_free: list[dict], names: Sequence[str]) -> dict:
    """Per detector row: pooled F1 / FAR / MAR (SKAB's leaderboard), pooled false alarms per 10,000 normal rows,
    the anomaly-free recording's alarm events per 10,000 rows and share flagged, the mean fit seconds."""
    from reconad.metrics import pooled_counts, rates

    summary = {}
    for name in names:
        mine = [r for r in rows if r["detector"] == name]
        free = next((r for r in anomaly_free if r["detector"] == name), None)
        entry: dict = {"files": len(mine)}
        if mine:
            pooled = pooled_counts(mine)
            r = rates(pooled)
            normal = pooled["fp"] + pooled["tn"]
            alarms = sum(row["false_alarms"] for row in mine)
            entry.update(pooled_f1=r["f1"], pooled_far=r["far"], pooled_mar=r["mar"],
                         false_alarms_per_10k=PER * alarms / normal if normal else None,
                         fit_seconds_mean=_mean(row["fit_seconds"] for row in mine))
        if free is not None:
            entry.update(anomaly_free_events_per_10k=free["events_per_10k"],
                         anomaly_free_share_flagged=free["share_flagged"])
        summary[name] = entry
    return summary


# ---- the suite ---------------------------------------------------------------------------------------------------

def run(epochs: int | None = None, root=None, series: Sequence[str] | None = None, names: Sequence[str] | None = None,
        thresholds=None, progress: Progress = None) -> dict:
    """The alarms suite as ``reconad bench alarms`` runs it: NAB (``series``: only these), SKAB (``names``: only
    these files) and the anomaly-free recording, with the extra threshold rules ``thresholds``."""
    from reconad.bench.sensors import threshold_text

    rules = parse_rules(thresholds)
    reference = _new_detector("reconad", epochs)
    payload = {"configuration": {"reconad": reference.params_document(),
                                 "threshold": threshold_text(reference.new_threshold()), "rules": ["default", *rules],
                                 "baselines": {n: _new_detector(n, None).get_params() for n in BASELINES},
                                 "epochs_override": epochs, "fractions": list(FRACTIONS), "caps": list(CAPS),
                                 "headline_fraction": HEADLINE}}
    payload["nab"] = bench_nab(root, series, rules, epochs, progress)
    payload["skab"] = bench_skab(root, names, rules, epochs, progress)
    return payload


def _fmt(value, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(payload: dict) -> str:
    """The summaries (NAB, SKAB) and the per-series and per-file tables."""
    nab, skab = payload["nab"], payload["skab"]
    head = ["detector", "series", "false alarms / 10k (median, 15%)", "90th pct (15%)", "median 10% / 15% / 20%",
            "flagged-share ratio (median)", "windows touched (mean, 15%)", "10% / 15% / 20%",
            "share flagged (median, 15%)", "fit s (mean, 10 / 15 / 20%)"]
    body = []
    for name, v in nab["summary"].items():
        fits = [v["per_fit"][f"{f:.2f}"] for f in FRACTIONS]
        main = v["per_fit"][f"{HEADLINE:.2f}"]
        body.append([name, v["series"], _fmt(main["false_alarms_per_10k_median"]),
                     _fmt(main["false_alarms_per_10k_p90"]),
                     " / ".join(_fmt(f["false_alarms_per_10k_median"]) for f in fits),
                     _fmt(v["flagged_ratio_median"], 2) + "×", _fmt(main["windows_touched_mean"], 2),
                     " / ".join(_fmt(f["windows_touched_mean"], 2) for f in fits),
                     "–" if main["share_flagged_median"] is None else pct(main["share_flagged_median"]),
                     " / ".join(_fmt(f["fit_seconds_mean"]) for f in fits)])
    skab_head = ["detector", "files", "pooled F1", "FAR", "MAR", "false alarms / 10k normal rows",
                     "anomaly-free: alarm events / 10k rows", "anomaly-free: share flagged", "fit s (mean)"]
    skab_body = [[name, v["files"], v.get("pooled_f1"), _pct(v.get("pooled_far")), _pct(v.get("pooled_mar")),
                  _fmt(v.get("false_alarms_per_10k")), _fmt(v.get("anomaly_free_events_per_10k")),
                  _pct(v.get("anomaly_free_share_flagged")), _fmt(v.get("fit_seconds_mean"))]
                 for name, v in skab["summary"].items()]
    per_series = _per_series(nab["per_series"])
    per_file = [[r["file"], r["detector"], r["f1"], pct(r["far"]), pct(r["mar"]), r["fp"] + r["tn"],
                 r["tp"] + r["fn"]] for r in skab["per_file"]]
    configuration = payload.get("configuration", {})
    return (
        "# Alarms: false alarms and their stability with the defaults (issue 34's protocol)\n\n"
        "`reconad bench alarms` (or `python benchmarks/alarms.py`). Public API, defaults "
        "(`SeriesDetector(random_state=0, verbose=False)`), labels read only to count. **NAB**: per series, fits on "
        "the first 10%, 15% and 20% of the rows (at most 750 / 1,125 / 1,500), each predicting the rows after the "
        "longest of the three. *False alarms*: flagged regions (runs of flagged rows) touching no labelled window, "
        "per 10,000 normal rows, median over series (90th percentile next to it); *flagged-share ratio*: (max + 1) "
        "/ (min + 1) flagged rows over the three fits, median over series; *windows touched*: share of a series' "
        "labelled windows in the evaluation part that a flag touches, mean over series that have one; per-fit "
        "headline numbers are the **15% fit**, the three fits follow. **SKAB**: train on rows [:400], predict the "
        "rest; F1 / FAR / MAR pooled over files; the anomaly-free recording the same way (every flag is false). "
        "Rows `reconad RULE`: the same fitted detectors with `set_threshold(RULE)` (no refit); rows `reconad folds "
        "[RULE]`: the same again after `calibrate(train, out_of_fold=True)` (two half-size fits; their fit seconds "
        "include it). Baselines: "
        "`WindowBaseline` IsolationForest and PCA with their own label-free rule.\n\n"
        "## NAB\n\n" + markdown_table(head, body)
        + "\n## SKAB\n\n" + markdown_table(skab_head, skab_body)
        + "\n## NAB per series\n\nFalse alarms per 10k normal rows, windows touched and flagged rows for the 10% / "
        "15% / 20% fits.\n\n"
        + markdown_table(["series", "detector", "eval rows", "windows", "false alarms / 10k", "windows touched",
                          "flagged rows", "ratio"], per_series)
        + "\n## SKAB per file\n\n"
        + markdown_table(["file", "detector", "F1", "FAR", "MAR", "normal rows", "anomalous rows"], per_file)
        + "\n" + (f"Default threshold rule: `{configuration['threshold']}`; rules compared: "
                  f"{', '.join(configuration['rules'])}; epochs override: {configuration['epochs_override']}.\n\n"
                  if configuration else "")
        + (f"Machine: {payload['machine']}\n" if "machine" in payload else "")
    )


def _pct(value) -> str:
    return "–" if value is None else pct(value)


def _per_series(rows: list[dict]) -> list[list]:
    grouped: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        grouped.setdefault((r["series"], r["detector"]), []).append(r)
    table = []
    for (series, detector), fits in grouped.items():
        fits = sorted(fits, key=lambda r: r["fraction"])
        table.append([series, detector, fits[0]["eval_rows"], fits[0]["windows"],
                      " / ".join(_fmt(r["false_alarms_per_10k"]) for r in fits),
                      " / ".join(_fmt(r["windows_touched"], 2) for r in fits),
                      " / ".join(str(r["flagged"]) for r in fits),
                      _fmt(flagged_ratio([r["flagged"] for r in fits]), 2)])
    return table

"""The main job on embedded data (no files needed): ``reconad demo``.

Trains two detectors on the course notebook's noisy sine — the notebook's own configuration (preset
``sine-notebook``) and reconad's defaults — scores the test series under both protocols (``notebook``: the
test copies training noise; ``independent``: fresh noise), and writes metrics and figures.
Label-free figures (the detector's own threshold) are always shown next to the *oracle* ones (the best
threshold chosen with the test labels).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from reconad.data.synthetic import PROTOCOLS, make_sine
from reconad.detector import SeriesDetector
from reconad.metrics import auprc, oracle_best_f1, oracle_best_f1_grid, point_f1, roc_auc
from reconad.persistence import atomic_write_bytes
from reconad.plots import plot_history, plot_scores, plot_series, save_figure

log = logging.getLogger("reconad")

SEED = 223


def series_metrics(labels, scores, predicted) -> dict:
    """The metrics shown everywhere for a scored, labelled series (oracles named as such)."""
    return {
        "auprc": auprc(labels, scores),
        "roc_auc": roc_auc(labels, scores),
        "label_free_f1": point_f1(labels, predicted),
        "oracle_f1": oracle_best_f1(labels, scores).f1,
        "oracle_f1_notebook_grid": oracle_best_f1_grid(labels, scores).f1,
    }


def detectors(quick: bool, verbose: bool) -> dict[str, SeriesDetector]:
    epochs = {"epochs": 2} if quick else {}
    return {
        "notebook preset (rnn)": SeriesDetector.from_preset("sine-notebook", random_state=SEED, verbose=verbose,
                                                             **epochs),
        "reconad default": SeriesDetector(random_state=SEED, verbose=verbose, **epochs),
    }


def run_series_demo(out_dir: Path, quick: bool = False, verbose: bool = True) -> dict:
    data = {protocol: make_sine(SEED, protocol) for protocol in PROTOCOLS}
    train = data["notebook"].train  # the same training series under both protocols
    save_figure(plot_series(train, data["independent"].test, data["independent"].test_labels, "noisy sine"),
                out_dir / "data.png")
    results, histories = {}, {}
    for name, det in detectors(quick, verbose).items():
        started = time.perf_counter()
        validation = (data["notebook"].test, data["notebook"].test_labels)  # per-epoch curves, as the notebook
        det.fit(train, validation=validation)
        fit_seconds = time.perf_counter() - started
        histories[name] = det.history_
        results[name] = {"fit_seconds": fit_seconds, "threshold": det.threshold_.value_,
                         "threshold_source": det.threshold_source_, "params": det.get_params(), "protocols": {}}
        slug = "notebook_preset" if name.startswith("notebook") else "default"
        for protocol, d in data.items():
            scores, predicted = det.anomaly_score(d.test), det.predict(d.test)
            results[name]["protocols"][protocol] = series_metrics(d.test_labels, scores, predicted)
            fig = plot_scores(d.test, det.reconstruct(d.test), scores, det.threshold_.value_, d.test_labels,
                              predicted, title=f"{name}, {protocol} protocol")
            save_figure(fig, out_dir / f"scores_{slug}_{protocol}.png")
    save_figure(plot_history(histories), out_dir / "history.png")
    return {"seed": SEED, "series": results}


def run_demo(out_dir: str | Path = "reconad-demo", quick: bool = False, verbose: bool = True) -> dict:
    """Run the demo, write ``metrics.json`` and PNG figures into ``out_dir``; return the metrics."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = run_series_demo(out_dir, quick, verbose)
    atomic_write_bytes(out_dir / "metrics.json", (json.dumps(metrics, indent=2, default=_jsonable) + "\n").encode())
    return metrics


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def summary_table(metrics: dict) -> str:
    """A short plain-text table of the demo's series results."""
    header = f"{'detector':<24} {'protocol':<12} {'AUPRC':>6} {'ROC-AUC':>7} {'F1 label-free':>13} {'F1 oracle':>9}"
    lines = [header, "-" * len(header)]
    for name, result in metrics["series"].items():
        for protocol, m in result["protocols"].items():
            lines.append(f"{name:<24} {protocol:<12} {m['auprc']:>6.3f} {m['roc_auc']:>7.3f} "
                         f"{m['label_free_f1']:>13.3f} {m['oracle_f1']:>9.3f}")
    lines.append("F1 oracle: threshold chosen with the test labels (not available to a real detector).")
    return "\n".join(lines)

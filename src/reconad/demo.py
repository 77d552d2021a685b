"""The main job on embedded data (no files needed): ``reconad demo``.

Trains two detectors on the course notebook's noisy sine — the notebook's own configuration (preset
``sine-notebook``) and reconad's defaults — scores the test series under both protocols (``notebook``: the
test copies training noise; ``independent``: fresh noise), runs a small one-class image detector on
scikit-learn's 8x8 digits, and writes metrics, figures and a self-contained HTML report (``report.html``).
Label-free figures (the detector's own threshold) are always shown next to the *oracle* ones (the best
threshold chosen with the test labels).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from reconad.atomic import atomic_write_bytes
from reconad.data.synthetic import PROTOCOLS, make_sine
from reconad.detectors import SeriesDetector
from reconad.metrics import auprc, oracle_best_f1, oracle_best_f1_grid, point_f1, roc_auc
from reconad.metrics.evaluation import series_evaluation
from reconad.plots import plot_history, plot_scores, plot_series, save_figure
from reconad.report import (
    Section,
    fingerprint_arrays,
    img,
    key_values,
    metrics_html,
    model_card_html,
    paragraph,
    render,
    write_report,
)
from reconad.report_inputs import model_facts

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


def data_fingerprint(data: dict) -> str:
    """The sha256 fingerprint of the demo's series: the training series, then each protocol's test and labels."""
    arrays = [data["notebook"].train] + [a for d in data.values() for a in (d.test, d.test_labels)]
    return fingerprint_arrays(*arrays)


def run_series_demo(out_dir: Path, quick: bool = False, verbose: bool = True, keep: dict | None = None) -> dict:
    """Train, score and plot the series part; ``keep`` (a dict) receives what the report needs."""
    keep = {} if keep is None else keep
    data = {protocol: make_sine(SEED, protocol) for protocol in PROTOCOLS}
    keep["data"], keep["facts"], keep["evaluations"] = data, {}, {}
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
        keep["facts"][name] = model_facts(det, data_fingerprint(data))
        threshold = float(det.threshold_)
        results[name] = {"fit_seconds": fit_seconds, "threshold": threshold,
                         "threshold_source": det.threshold_source_, "params": det.get_params(), "protocols": {}}
        slug = "notebook_preset" if name.startswith("notebook") else "default"
        for protocol, d in data.items():
            scores, predicted = det.anomaly_score(d.test), det.predict(d.test)
            results[name]["protocols"][protocol] = series_metrics(d.test_labels, scores, predicted)
            keep["evaluations"][f"{name}, {protocol}"] = series_evaluation(
                d.test_labels, scores, predicted, threshold, det.threshold_source_)
            fig = plot_scores(d.test, det.reconstruct(d.test), scores, threshold, d.test_labels,
                              predicted, title=f"{name}, {protocol} protocol")
            save_figure(fig, out_dir / f"scores_{slug}_{protocol}.png")
    save_figure(plot_history(histories), out_dir / "history.png")
    return {"seed": SEED, "series": results}


def run_image_demo(out_dir: Path, verbose: bool = True) -> dict | None:
    """The one-class 8x8-digits run of ``reconad.experiments.image_demo``, or None where it does not exist."""
    try:
        from reconad.experiments import image_demo
    except ImportError:
        log.info("reconad.experiments.image_demo is not available: the demo skips the image part")
        return None
    return image_demo(out_dir, verbose=verbose)


def run_demo(out_dir: str | Path = "reconad-demo", quick: bool = False, verbose: bool = True) -> dict:
    """Run the demo, write ``metrics.json``, PNG figures and ``report.html`` into ``out_dir``; return the metrics."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keep: dict = {}
    metrics = run_series_demo(out_dir, quick, verbose, keep)
    images = run_image_demo(out_dir, verbose)
    if images is not None:
        metrics["images"] = images
    atomic_write_bytes(out_dir / "metrics.json", (json.dumps(metrics, indent=2, default=_jsonable) + "\n").encode())
    write_report(out_dir / "report.html", demo_report(out_dir, metrics, keep, quick))
    return metrics


def _png(out_dir: Path, name: str, alt: str, caption: str) -> str:
    return img((out_dir / name).read_bytes(), alt, caption)


def demo_report(out_dir: Path, metrics: dict, keep: dict, quick: bool = False) -> str:
    """The demo's HTML report, from the figures already written in ``out_dir`` and what the run kept."""
    data = keep["data"]
    fingerprint = data_fingerprint(data)
    info = {"name": "noisy sine (reconad.data.make_sine, embedded: no files)", "seed": SEED,
            "training series": f"{len(data['notebook'].train):,} steps × 1 feature (normal)"}
    for protocol, d in data.items():
        info[f"test series, {protocol} protocol"] = (f"{len(d.test):,} steps, {int(d.test_labels.sum())} anomalous "
                                                     f"({d.test_labels.mean():.1%})")
    info["time span"] = "step indices (no time column)"
    info["fingerprint (sha256 of the float32 arrays)"] = fingerprint
    sections = [Section("The data", key_values(info) + _png(out_dir, "data.png", "the data",
                                                            "Training series and test series with true anomalies."))]
    sections.append(Section("Training history", _png(
        out_dir, "history.png", "training history",
        "Training loss and validation F1 (oracle threshold, notebook protocol) per epoch, for both detectors.")))
    timelines = []
    for name in metrics["series"]:
        slug = "notebook_preset" if name.startswith("notebook") else "default"
        for protocol in data:
            timelines.append(_png(out_dir, f"scores_{slug}_{protocol}.png", f"scores: {name}, {protocol}",
                                  f"{name}, {protocol} protocol: input and reconstruction; score and label-free "
                                  "threshold; true (red) vs predicted (green) regions."))
    sections.append(Section("Scores and regions", f'<div class="grid">{"".join(timelines)}</div>'))
    sections.append(Section("Metrics", metrics_html(keep["evaluations"])))
    if "images" in metrics:
        m = metrics["images"]
        shown = {k: v for k, v in m.items() if k not in ("seconds",)}
        body = paragraph("One-class detection on scikit-learn's bundled 8x8 digits: a convolutional auto-encoder "
                         f"trained on digit {m.get('normal_digit')} only; every other digit is an anomaly.")
        figures = {name: _png(out_dir, name, name.removesuffix(".png").replace("_", " "), caption)
                   for name, caption in (("roc_curve.png", "ROC curve of the image scores."),
                                         ("reconstructions.png", "Test inputs (top) and their reconstructions."))
                   if (out_dir / name).is_file()}
        body += f'<div class="grid">{key_values(shown)}{figures.get("roc_curve.png", "")}</div>'
        body += figures.get("reconstructions.png", "")
        sections.append(Section("Images: 8x8 digits", body))
    cards = "".join(model_card_html(facts, name) for name, facts in keep["facts"].items())
    sections.append(Section("Model cards", cards))
    subtitle = "reconad demo on embedded data" + (" (--quick: two epochs, a smoke run)" if quick else "")
    return render("reconad demo report", sections, subtitle)


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
    if "images" in metrics:
        m = metrics["images"]
        lines.append(f"\nimages ({m['dataset']}, normal digit {m['normal_digit']}, {m['model']} AE): ROC-AUC "
                     f"{m['roc_auc']:.3f}, recall at the label-free threshold {m['recall_at_threshold']:.3f}, "
                     f"false-alarm rate {m['false_alarm_rate']:.3f}")
    return "\n".join(lines)

"""A self-contained HTML report: one file, figures embedded as base64 PNG, inline CSS, no script, no network.

A report is a list of :class:`Section` objects rendered by :func:`render`. The builders here make the usual
ones — the data (shape, columns, time span, sha256 fingerprint), training history, score timeline, metrics
(label-free next to oracle) and the model card — and :func:`series_report` / :func:`image_report` put them
together for a scored, optionally labelled, data set. :func:`write_report` writes atomically.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import logging
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from reconad.metrics import auprc, oracle_best_f1, point_prf, roc_auc
from reconad.persistence import atomic_write_bytes

log = logging.getLogger("reconad")

ORACLE_NOTE = ("oracle: the threshold with the best F1 chosen with the test labels, an upper bound that a "
               "real detector cannot reach")

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1180px;
       padding: 1.5em 2em 4em; color: #1d2129; background: #fff; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.1em; }
h2 { font-size: 1.3em; border-bottom: 2px solid #e3e6ea; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
.subtitle { color: #5f6b7a; margin-top: 0; }
nav ol { columns: 2; color: #5f6b7a; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.92em; }
th, td { border: 1px solid #d5dae0; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #f3f5f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.oracle td { background: #fff7e6; }
tr.label-free td { background: #eef8f0; }
figure { margin: 1em 0 1.5em; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e6ea; }
figcaption { color: #5f6b7a; font-size: 0.9em; }
code { background: #f3f5f7; padding: 0 0.25em; border-radius: 3px; font-size: 0.92em; }
.note { color: #5f6b7a; font-size: 0.9em; }
footer { margin-top: 3em; color: #8a94a2; font-size: 0.85em; }
"""


@dataclass
class Section:
    """A titled part of a report; ``body`` is HTML (build it with the helpers here, which escape text)."""

    title: str
    body: str


# ---- small HTML pieces ------------------------------------------------------------------------------------------


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def fmt(value, digits: int = 4) -> str:
    """A number for a table: ``n/a`` for None / NaN, integers as is, floats to ``digits`` significant digits."""
    if value is None:
        return "n/a"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return "n/a" if math.isnan(value) else f"{float(value):.{digits}g}"
    return str(value)


def figure_png(fig, dpi: int = 100) -> bytes:
    """A matplotlib figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def img(png: bytes, alt: str, caption: str = "") -> str:
    """A ``<figure>`` with the PNG embedded as a base64 data URI."""
    data = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="data:image/png;base64,{data}" alt="{esc(alt)}">{cap}</figure>'


def table(header: Sequence[str], rows: Sequence[Sequence], classes: Sequence[str] | None = None) -> str:
    """An HTML table; numbers are formatted with :func:`fmt` and right-aligned, text is escaped."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    lines = []
    for i, row in enumerate(rows):
        cells = []
        for value in row:
            numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            cells.append(f'<td class="num">{fmt(value)}</td>' if numeric else f"<td>{esc(fmt(value))}</td>")
        css = f' class="{esc(classes[i])}"' if classes and classes[i] else ""
        lines.append(f"<tr{css}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def key_values(pairs: Mapping[str, object]) -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(fmt(v))}</td></tr>" for k, v in pairs.items())
    return f'<table class="card"><tbody>{rows}</tbody></table>'


def paragraph(text: str, css: str = "") -> str:
    return f'<p class="{css}">{esc(text)}</p>' if css else f"<p>{esc(text)}</p>"


# ---- fingerprints -------------------------------------------------------------------------------------------------


def fingerprint_file(path: str | os.PathLike) -> str:
    """``sha256:<hex>`` of a file's bytes (read in chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def fingerprint_arrays(*arrays) -> str:
    """``sha256:<hex>`` of in-memory data: the bytes of each array as C-contiguous float32, in order."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(np.asarray(array, dtype=np.float32)).tobytes())
    return f"sha256:{digest.hexdigest()}"


# ---- metrics: label-free next to oracle ---------------------------------------------------------------------------


def _optional_metric(name: str):
    """A metric function from ``reconad.metrics`` that may not exist in this version (None then)."""
    import reconad.metrics as metrics

    return getattr(metrics, name, None)


def _value(result) -> float:
    return float(getattr(result, "f1", result))


def _at_threshold(labels: np.ndarray, predicted: np.ndarray) -> dict:
    prf = point_prf(labels, predicted)
    row = {"precision": prf.precision, "recall": prf.recall, "f1": prf.f1, "flagged": int(predicted.sum())}
    for name in ("event_f1", "point_adjusted_f1"):
        function = _optional_metric(name)
        if function is not None:
            try:
                row[name] = _value(function(labels, predicted))
            except (ValueError, TypeError) as exc:
                log.warning("%s could not be computed: %s", name, exc)
    return row


def series_evaluation(labels, scores, predicted, threshold: float, threshold_source: str = "") -> dict:
    """Metrics of a labelled, scored series: threshold-free, at the label-free threshold, and the oracle's.

    ``{"threshold_free": {auprc, roc_auc[, vus_pr]}, "label_free": {threshold, source, precision, recall, f1,
    flagged[, event_f1, point_adjusted_f1]}, "oracle": {the same at the best-F1 threshold chosen with the
    labels}}``. With no anomaly in ``labels`` AUPRC and ROC-AUC are NaN, and a ``"note"`` says so (as with every
    row anomalous).
    """
    labels = np.asarray(labels).astype(np.int8)
    scores = np.asarray(scores, dtype=np.float64)
    predicted = np.asarray(predicted).astype(np.int8)
    free = {"auprc": auprc(labels, scores), "roc_auc": roc_auc(labels, scores)}
    vus_pr = _optional_metric("vus_pr")
    if vus_pr is not None:
        try:
            free["vus_pr"] = _value(vus_pr(labels, scores))
        except (ValueError, TypeError) as exc:
            log.warning("vus_pr could not be computed: %s", exc)
    oracle = oracle_best_f1(labels, scores)
    oracle_pred = (scores >= oracle.threshold).astype(np.int8)
    evaluation = {
        "threshold_free": free,
        "label_free": {"threshold": float(threshold), "source": threshold_source,
                       **_at_threshold(labels, predicted)},
        "oracle": {"threshold": oracle.threshold, "source": "best F1 over every threshold, chosen with the labels",
                   **_at_threshold(labels, oracle_pred)},
    }
    note = one_class_note(labels, predicted)
    if note:
        evaluation["note"] = note
    return evaluation


def one_class_note(labels: np.ndarray, predicted: np.ndarray) -> str | None:
    """For labels of one class, where AUPRC, ROC-AUC, recall or F1 are undefined: what the flags do measure."""
    anomalies, n, flagged = int(labels.sum()), len(labels), int(predicted.sum())  # (T,) 0/1 arrays
    if anomalies == 0:
        return (f"The labels mark no anomaly: AUPRC, ROC-AUC, recall and F1 are undefined here; the label-free "
                f"threshold flags {flagged:,} of the {n:,} normal rows, a false-alarm rate of {flagged / n:.1%}.")
    if anomalies == n:
        return (f"The labels mark every row anomalous: ROC-AUC and the false-alarm rate are undefined here; the "
                f"label-free threshold flags {flagged:,} of the {n:,} rows, a recall of {flagged / n:.1%}.")
    return None


_THRESHOLD_COLUMNS = {"precision": "precision", "recall": "recall", "f1": "F1", "event_f1": "event F1",
                      "point_adjusted_f1": "point-adjusted F1", "flagged": "flagged"}


def metrics_html(evaluations: Mapping) -> str:
    """Two tables: threshold-free metrics, then one row per threshold (label-free, oracle) side by side.

    ``evaluations`` is one :func:`series_evaluation` result, or ``{run name: result}`` for several runs (a
    "run" column is added).
    """
    if "threshold_free" in evaluations:
        evaluations = {"": evaluations}
    runs = [name for name in evaluations if name]
    lead = ["run"] if runs else []
    first = next(iter(evaluations.values()))
    names = {"auprc": "AUPRC", "roc_auc": "ROC-AUC", "vus_pr": "VUS-PR"}
    free_keys = list(first["threshold_free"])
    free_rows = [[name] * bool(runs) + [e["threshold_free"].get(k) for k in free_keys]
                 for name, e in evaluations.items()]
    free = table(lead + [names.get(k, k) for k in free_keys], free_rows)
    keys = [k for k in _THRESHOLD_COLUMNS if k in first["label_free"]]
    rows, classes = [], []
    for name, evaluation in evaluations.items():
        source = evaluation["label_free"]["source"]
        for kind, label in (("label_free", f"label-free, fitted on the {source}" if source else "label-free"),
                            ("oracle", "oracle: best F1 chosen with the test labels")):
            m = evaluation[kind]
            rows.append([name] * bool(runs) + [label, m["threshold"], *[m.get(k) for k in keys]])
            classes.append(kind.replace("_", "-"))
    at = table(lead + ["threshold", "value", *[_THRESHOLD_COLUMNS[k] for k in keys]], rows, classes)
    extra = [k for k in ("event_f1", "point_adjusted_f1") if k in keys]
    note = ORACLE_NOTE + "." + (" Every F1 in a row is computed at that row's threshold (the oracle's maximises "
                                "point-wise F1)." if extra else "")
    notes = "".join(paragraph(f"{name}: {e['note']}" if name else e["note"], "note")
                    for name, e in evaluations.items() if "note" in e)
    return (f"<h3>Threshold-free</h3>{notes}{free}<h3>At a threshold: label-free vs oracle</h3>{at}"
            + paragraph(note, "note"))


# ---- sections -----------------------------------------------------------------------------------------------------


def data_section(info: Mapping[str, object], figures: Sequence[str] = (), title: str = "The data") -> Section:
    """``info``: name, shape, columns, time span, fingerprint, ... shown as a key/value table."""
    return Section(title, key_values(info) + "".join(figures))


def time_span(time, length: int) -> str:
    """``first → last (duration)`` of a time index, or the step range when there is none."""
    if time is None or len(time) == 0:
        return f"steps 0 … {length - 1} (no time column)"
    first, last = time[0], time[-1]
    try:
        return f"{first} → {last} ({last - first})"
    except TypeError:
        return f"{first} → {last}"


def model_card(det, fingerprint: str | None = None, extra: Mapping[str, object] | None = None) -> str:
    """The model card of a fitted detector: model, parameters, seed, versions, threshold and its source."""
    from reconad import __version__

    threshold = det.threshold_
    card = {
        "detector": type(det).__name__,
        "model": det.model,
        "reconad version": __version__,
        "seed (seed_)": getattr(det, "seed_", None),
        "device": str(getattr(det, "device_", det.device)),
        "threshold": f"{threshold.name} {threshold.params()} → {fmt(threshold.value_)}",
        "threshold source": getattr(det, "threshold_source_", "n/a"),
        "epochs trained (best epoch kept)": f"{len(det.history_)} ({det.best_epoch_})",
    }
    if getattr(det, "feature_names_in_", None):
        card["features"] = ", ".join(det.feature_names_in_)
    elif hasattr(det, "n_features_in_"):
        card["features"] = f"{det.n_features_in_} (unnamed)"
    if hasattr(det, "window_"):
        card["window, training stride (window_, stride_)"] = f"{det.window_}, {det.stride_}"
    if hasattr(det, "drifting_"):
        card["centred on each window's mean (drift)"] = ", ".join(str(f) for f in det.drifting_features_) or "none"
    if hasattr(det, "image_shape_"):
        card["image shape (C, H, W)"] = str(tuple(det.image_shape_))
    if fingerprint:
        card["data fingerprint (the data in this report)"] = fingerprint
    card.update(extra or {})
    params = {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in det.get_params().items()}
    return key_values(card) + "<h3>Parameters</h3>" + table(("parameter", "value"), sorted(params.items()))


def history_section(history: Sequence[dict], title: str = "training") -> str:
    from reconad.plots import plot_training

    if not history:
        return paragraph("No training history recorded.", "note")
    body = img(figure_png(plot_training(list(history), title)), f"{title}: training history",
               "Training loss per epoch (and validation metrics when validation data was given).")
    last = history[-1]
    shown = {k: v for k, v in last.items() if k != "epoch"}
    return body + paragraph(f"Last epoch ({last.get('epoch')}): "
                            + ", ".join(f"{k} = {fmt(v)}" for k, v in shown.items()), "note")


# ---- document -----------------------------------------------------------------------------------------------------


def _slug(index: int, title: str) -> str:
    return f"s{index}-" + "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")


def render(title: str, sections: Sequence[Section], subtitle: str = "") -> str:
    """The whole HTML document (UTF-8 text, no external resource)."""
    from reconad import __version__

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    toc = "".join(f'<li><a href="#{_slug(i, s.title)}">{esc(s.title)}</a></li>' for i, s in enumerate(sections))
    body = "".join(f'<section id="{_slug(i, s.title)}"><h2>{esc(s.title)}</h2>{s.body}</section>'
                   for i, s in enumerate(sections))
    sub = f'<p class="subtitle">{esc(subtitle)}</p>' if subtitle else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            f"<header><h1>{esc(title)}</h1>{sub}</header><nav><ol>{toc}</ol></nav>{body}"
            f"<footer>reconad {esc(__version__)} · generated {stamp} · self-contained: no scripts, no network"
            f"</footer></body></html>\n")


def write_report(path: str | os.PathLike, document: str) -> Path:
    """Write the HTML atomically (temporary file, then rename)."""
    return atomic_write_bytes(path, document.encode("utf-8"))


# ---- whole reports ------------------------------------------------------------------------------------------------


MAX_POINTS = 20_000  # longer series are drawn as block maxima (timeline) or around the highest score (detail)


def _block_max(values):
    """``values`` (``(T,)`` or ``(T, D)``) cut to at most ``MAX_POINTS`` rows by block maxima (peaks survive);
    None stays None."""
    if values is None or len(values) <= MAX_POINTS:
        return values
    return np.maximum.reduceat(np.asarray(values), np.arange(0, len(values), math.ceil(len(values) / MAX_POINTS)))


def _envelope(scores, labels, predicted, time):
    """``(scores, labels, predicted, time)`` cut to at most ``MAX_POINTS`` by block maxima (peaks survive)."""
    length = len(scores)
    if length <= MAX_POINTS:
        return scores, labels, predicted, time
    starts = np.arange(0, length, math.ceil(length / MAX_POINTS))
    axis = starts if time is None else np.asarray(time)[starts]
    return _block_max(scores), _block_max(labels), _block_max(predicted), axis


def _detail_range(scores, window: int) -> tuple[int, int]:
    """All steps, or ``MAX_POINTS`` steps centred on the highest score (at least one window)."""
    length = len(scores)
    if length <= MAX_POINTS:
        return 0, length
    span = max(MAX_POINTS, window)
    start = min(max(0, int(np.argmax(scores)) - span // 2), length - span)
    return start, start + span


def region_features(contributions, spans, scores, names, top: int = 3, shown: int = 20) -> str:
    """A table of the predicted regions with the highest scores and the features that drove each, from the
    detector's ``explain`` contributions ``(T, D)``."""
    from reconad.detector import region_shares

    if not spans:
        return ""
    ranked = sorted(spans, key=lambda span: -float(np.max(scores[span[0]:span[1]])))[:shown]
    rows = []
    for region in region_shares(contributions, ranked, list(names), top):
        begin, end = region["start"], region["end"]
        top_features = ", ".join(f"{f['feature']} ({100 * f['share']:.0f}%)" for f in region["features"])
        rows.append([f"{begin:,}", f"{end:,}", f"{end - begin:,}", f"{float(np.max(scores[begin:end])):.4g}",
                     top_features])
    caption = (f"Top features of the {len(rows)} predicted region(s) with the highest scores"
               + (f" (of {len(spans)})" if len(spans) > len(rows) else "")
               + ": each feature's share of the region's mean squared reconstruction error (det.explain).")
    return paragraph(caption) + table(["start", "end", "steps", "max score", "top features (share)"], rows)


def series_report(det, x, scores, predicted, labels=None, *, time=None, data_info: Mapping[str, object],
                  fingerprint: str, title: str = "reconad report") -> tuple[str, dict | None]:
    """The report of a series scored by a fitted ``SeriesDetector``: ``(html, metrics or None)``.

    ``x`` ``(T, D)`` (array or DataFrame), ``scores`` / ``predicted`` ``(T,)``, ``labels`` ``(T,)`` 0/1 or None,
    ``time`` the time index or None; ``data_info`` is shown in the data section.
    """
    from reconad.metrics import regions
    from reconad.plots import plot_contributions, plot_score_timeline, plot_scores

    threshold = float(det.threshold_.level(scores))  # for a batch-relative threshold, this batch's level
    names = list(getattr(x, "columns", [])) or [f"feature {i}" for i in range(np.shape(x)[1])]
    sections = [data_section(data_info)]
    sections.append(Section("Training history", history_section(det.history_, det.model)))
    scores, predicted = np.asarray(scores), np.asarray(predicted)
    labels = None if labels is None else np.asarray(labels)
    drawn, drawn_labels, drawn_predicted, drawn_time = _envelope(scores, labels, predicted, time)
    timeline = img(figure_png(plot_score_timeline(drawn, threshold, drawn_labels, drawn_predicted, drawn_time)),
                   "score timeline",
                   "Anomaly score per step with the label-free threshold; true regions shaded red in the upper half, "
                   "predicted regions green in the lower half."
                   + (f" {len(scores):,} steps drawn as the maximum over blocks of "
                      f"{math.ceil(len(scores) / MAX_POINTS):,} steps." if len(scores) > MAX_POINTS else ""))
    start, end = _detail_range(scores, getattr(det, "window_", det.window))
    contributions = det.explain(x) if len(names) > 1 else None  # (T, D): which sensor, for several
    shown = 0 if contributions is None else int(np.argmax(contributions[start:end].mean(axis=0)))
    which = (f"the feature that contributes most there ({names[shown]})" if contributions is not None
             else f"the feature ({names[0]})")
    part = x.iloc[start:end] if hasattr(x, "iloc") else np.asarray(x)[start:end]
    where = f"steps {start:,} to {end - 1:,} around the highest score (x axis: step index from {start:,})"
    detail = img(figure_png(plot_scores(np.asarray(part), det.reconstruct(part), scores[start:end], threshold,
                                        None if labels is None else labels[start:end], predicted[start:end],
                                        title=str(names[shown]), feature=shown)),
                 "input, reconstruction and score",
                 f"Input and reconstruction of {which}; the score; true vs predicted regions"
                 + (f" — {where}" if end - start < len(scores) else " (x axis: step index)") + ".")
    spans = regions(np.asarray(predicted))
    sensors = ""
    if contributions is not None:
        sensors = img(figure_png(plot_contributions(_block_max(contributions), names, drawn_predicted, drawn_time)),
                      "sensor contributions",
                      "Which sensor: each feature's contribution to the score over time (its squared reconstruction "
                      "error, det.explain), on a log colour scale; predicted regions in green above.")
    summary = paragraph(f"{int(np.sum(predicted)):,} of {len(predicted):,} steps flagged, in {len(spans)} predicted "
                        f"region(s); threshold {threshold:.4g} ({det.threshold_source_})"
                        + (f", this series' split above the floor {float(det.threshold_.value_):.4g}"
                           if threshold != det.threshold_.value_ else "") + ".")
    features_table = "" if contributions is None else region_features(contributions, spans, scores, names)
    sections.append(Section("Scores and regions", summary + timeline + sensors + detail + features_table))
    evaluation = None
    if labels is not None:
        evaluation = series_evaluation(labels, scores, predicted, threshold, det.threshold_source_)
        sections.append(Section("Metrics", metrics_html(evaluation)))
    else:
        sections.append(Section("Metrics", paragraph("No labels given: only label-free results (the predicted "
                                                      "regions above). Pass --labels COLUMN for metrics.")))
    sections.append(Section("Model card", model_card(det, fingerprint)))
    return render(title, sections, f"{type(det).__name__} ({det.model}) on {data_info.get('name', 'data')}"), evaluation


def image_evaluation(labels, scores, predicted, threshold: float, threshold_source: str = "") -> dict:
    """Per-image metrics (AUPRC, ROC-AUC; precision / recall / F1 at the label-free and the oracle threshold)."""
    evaluation = series_evaluation(labels, scores, predicted, threshold, threshold_source)
    for kind in ("label_free", "oracle"):  # event metrics mean nothing for independent images
        for key in ("event_f1", "point_adjusted_f1"):
            evaluation[kind].pop(key, None)
    evaluation["threshold_free"].pop("vus_pr", None)
    return evaluation


def image_figures(det, images: np.ndarray, scores: np.ndarray, labels=None, shown: int = 8) -> list[str]:
    """ROC curve and score histograms (with labels), inputs next to reconstructions and error maps."""
    from reconad import plots_images

    figures = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        if labels is not None and len(np.unique(labels)) == 2:
            plots_images.roc_curves({det.model: (labels, scores)}, folder / "roc.png")
            figures.append(img((folder / "roc.png").read_bytes(), "ROC curve", "ROC curve of the image scores."))
            plots_images.score_histograms({"scores": (labels, scores)}, folder / "hist.png")
            figures.append(img((folder / "hist.png").read_bytes(), "score histograms",
                               "Score histograms of normal and anomalous images."))
        if labels is not None and len(np.unique(labels)) == 2:
            half = shown // 2
            pick = np.concatenate([np.flatnonzero(labels == 0)[:half], np.flatnonzero(labels == 1)[:half]])
            captions = ["anomaly" if labels[i] else "normal" for i in pick]
        else:
            pick = np.argsort(scores)[::-1][:shown]  # the highest scores first
            captions = [f"score {scores[i]:.3g}" for i in pick]
        chosen = images[pick]
        errors = det.error_map(chosen)
        errors = errors / max(float(errors.max()), 1e-12)  # scaled to [0, 1] for display
        plots_images.reconstruction_grid(chosen, {"reconstruction": det.reconstruct(chosen), "error map": errors},
                                          folder / "grid.png", captions)
        figures.append(img((folder / "grid.png").read_bytes(), "inputs, reconstructions and error maps",
                           "Inputs (top), their reconstructions and squared-error maps (scaled to the largest "
                           "error shown)."))
    return figures


def image_report(det, images: np.ndarray, scores, predicted, labels=None, *, data_info: Mapping[str, object],
                 fingerprint: str, title: str = "reconad report") -> tuple[str, dict | None]:
    """The report of images scored by a fitted ``ImageDetector``: ``(html, metrics or None)``."""
    scores, predicted = np.asarray(scores), np.asarray(predicted)
    sections = [data_section(data_info),
                Section("Training history", history_section(det.history_, det.model))]
    summary = paragraph(f"{int(predicted.sum())} of {len(predicted)} images flagged at the label-free threshold "
                        f"{float(det.threshold_.value_):.4g} ({det.threshold_source_}).")
    sections.append(Section("Scores and reconstructions", summary + "".join(image_figures(det, images, scores,
                                                                                           labels))))
    evaluation = None
    if labels is not None:
        evaluation = image_evaluation(labels, scores, predicted, det.threshold_.value_, det.threshold_source_)
        sections.append(Section("Metrics", metrics_html(evaluation)))
    sections.append(Section("Model card", model_card(det, fingerprint)))
    return render(title, sections, f"{type(det).__name__} ({det.model}) on {data_info.get('name', 'images')}"), \
        evaluation

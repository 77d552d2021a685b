"""The sections every report shares: the data, the training history, the metrics and the model card.

A report shows a fitted detector through :class:`ModelFacts`, plain values its caller reads from the detector
(``reconad.report_inputs.model_facts`` does that from public attributes); nothing here touches a detector.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from reconad.report.html import Section, esc, figure_png, fmt, img, key_values, paragraph, table

ORACLE_NOTE = ("oracle: the threshold with the best F1 chosen with the test labels, an upper bound that a "
               "real detector cannot reach")


@dataclass(frozen=True)
class ModelFacts:
    """What a report says about a fitted detector, as plain values.

    ``detector``: its kind (``"SeriesDetector"``); ``model``: the model's registered name; ``threshold``: the
    label-free threshold's value and ``threshold_source`` what it was fitted on; ``history``: one dict per
    epoch (``train_loss``, validation metrics, ...); ``card``: label -> value rows of the model card;
    ``parameters``: the detector's parameters; ``calibration``: the scores of normal data the threshold was fitted on
    (None for models saved before they were kept).
    """

    detector: str
    model: str
    threshold: float
    threshold_source: str = ""
    history: Sequence[Mapping] = ()
    card: Mapping[str, object] = field(default_factory=dict)
    parameters: Mapping[str, object] = field(default_factory=dict)
    calibration: Sequence[float] | None = None  # the calibration scores the threshold was fitted on


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


def model_card_html(facts: ModelFacts, name: str = "") -> str:
    """The model card (its rows, then the parameters as a table) in a collapsed ``<details>``: reference material
    a reader opens when needed, not pages of narrow tables to scroll past."""
    parameters = table(("parameter", "value"), sorted((str(k), v) for k, v in facts.parameters.items()))
    summary = (f"{name + ': ' if name else ''}{facts.detector} ({facts.model}), threshold {fmt(facts.threshold)} — "
               f"model card and {len(facts.parameters)} parameters")
    return (f"<details><summary>{esc(summary)}</summary>{key_values(facts.card)}<h3>Parameters</h3>{parameters}"
            "</details>")


def history_section(history: Sequence[Mapping], title: str = "training") -> str:
    """The training history's figure (loss and validation metrics per epoch) and its last epoch in words."""
    from reconad.plots import plot_training

    if not history:
        return paragraph("No training history recorded.", "note")
    body = img(figure_png(plot_training([dict(h) for h in history], title)), f"{title}: training history",
               "Training loss per epoch (and validation metrics when validation data was given).")
    last = history[-1]
    shown = {k: v for k, v in last.items() if k != "epoch"}
    return body + paragraph(f"Last epoch ({last.get('epoch')}): "
                            + ", ".join(f"{k} = {fmt(v)}" for k, v in shown.items()), "note")


_THRESHOLD_COLUMNS = {"precision": "precision", "recall": "recall", "f1": "F1", "event_f1": "event F1",
                      "point_adjusted_f1": "point-adjusted F1", "flagged": "flagged"}


def metrics_html(evaluations: Mapping) -> str:
    """Two tables: threshold-free metrics, then one row per threshold (label-free, oracle) side by side.

    ``evaluations`` is one ``reconad.metrics.series_evaluation`` (or ``image_evaluation``) result, or
    ``{run name: result}`` for several runs (a "run" column is added).
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


def shared_sections(facts: ModelFacts, data_info: Mapping[str, object]) -> list[Section]:
    """The opening sections of every report: the data, then the training history."""
    return [data_section(data_info), Section("Training history", history_section(facts.history, facts.model))]


def closing_sections(evaluation: Mapping | None, facts: ModelFacts, no_labels: str | None = None) -> list[Section]:
    """The closing sections: the metrics (without an evaluation: the ``no_labels`` text, if any), the model card."""
    sections = []
    if evaluation is not None:
        sections.append(Section("Metrics", metrics_html(evaluation)))
    elif no_labels:
        sections.append(Section("Metrics", paragraph(no_labels)))
    return [*sections, Section("Model card", model_card_html(facts))]

"""Matplotlib figures for series detection. Each function returns a Figure; :func:`save_figure` writes it.

The figures never call ``plt.show``; they use the object API, so they work under any backend (``Agg`` on
servers and in tests).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from reconad.metrics import regions

TRUE_COLOR, PRED_COLOR, THRESHOLD_COLOR = "tab:red", "tab:green", "tab:red"


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix) atomically, like every other output."""
    from reconad.atomic import atomic_write_bytes

    path = Path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=path.suffix.lstrip(".").lower() or "png", dpi=dpi, bbox_inches="tight")
    return atomic_write_bytes(path, buffer.getvalue())


def _shade(ax, labels, color: str, label: str) -> None:
    for i, (start, end) in enumerate(regions(np.asarray(labels))):
        ax.axvspan(start - 0.5, end - 0.5, color=color, alpha=0.2, lw=0, label=label if i == 0 else None)


def _feature(x: np.ndarray, feature: int = 0) -> np.ndarray:
    x = np.asarray(x)
    return x if x.ndim == 1 else x[:, feature]


def plot_series(train, test, labels, title: str = "data") -> Figure:
    """The training series and the test series with its true anomaly spans shaded."""
    fig = Figure(figsize=(12, 5), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    top.plot(_feature(train), lw=0.8)
    top.set_title(f"{title}: training series (normal)")
    bottom.plot(_feature(test), lw=0.8)
    _shade(bottom, labels, TRUE_COLOR, "true anomaly")
    bottom.set_title(f"{title}: test series")
    bottom.legend(loc="upper right")
    for ax in (top, bottom):
        ax.set_xlabel("time step")
    return fig


def plot_scores(x, reconstruction, scores, threshold: float, labels=None, predicted=None,
                title: str = "test", feature: int = 0) -> Figure:
    """Input and reconstruction of one ``feature`` (a column of ``x``); the score with the fitted threshold; true vs
    predicted regions."""
    fig = Figure(figsize=(12, 8), layout="constrained")
    ax_x, ax_s, ax_r = fig.subplots(3, 1, sharex=True)
    ax_x.plot(_feature(x, feature), lw=0.8, label="input")
    ax_x.plot(_feature(reconstruction, feature), lw=0.8, label="reconstruction")
    ax_x.set_title(f"{title}: input and reconstruction")
    ax_x.legend(loc="upper right")
    ax_s.plot(scores, lw=0.8, color="tab:purple", label="anomaly score")
    ax_s.axhline(threshold, color=THRESHOLD_COLOR, ls=":", label=f"label-free threshold ({threshold:.3g})")
    ax_s.set_title("anomaly score (higher = more anomalous)")
    ax_s.legend(loc="upper right")
    ax_r.plot(_feature(x, feature), lw=0.6, color="0.5")
    if labels is not None:
        _shade(ax_r, labels, TRUE_COLOR, "true anomaly")
    if predicted is not None:
        for i, (start, end) in enumerate(regions(np.asarray(predicted))):
            ax_r.axvspan(start - 0.5, end - 0.5, ymin=0.0, ymax=0.5, color=PRED_COLOR, alpha=0.35, lw=0,
                         label="predicted (label-free)" if i == 0 else None)
    ax_r.set_title("regions: true (red, full height) vs predicted (green, lower half)")
    ax_r.set_xlabel("time step")
    if ax_r.get_legend_handles_labels()[0]:
        ax_r.legend(loc="upper right")
    return fig


def plot_history(histories: dict[str, list[dict]], metric: str = "val_oracle_f1",
                 metric_label: str = "validation F1 (oracle threshold)") -> Figure:
    """Training loss and one validation metric per epoch, one line per run."""
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    ax_loss, ax_metric = fig.subplots(1, 2)
    for name, history in histories.items():
        epochs = [h["epoch"] for h in history]
        ax_loss.plot(epochs, [h["train_loss"] for h in history], marker=".", label=name)
        if history and metric in history[0]:
            ax_metric.plot(epochs, [h[metric] for h in history], marker=".", label=name)
    ax_loss.set(title="training loss (MSE, scaled units)", xlabel="epoch", ylabel="loss")
    ax_loss.set_yscale("log")
    ax_metric.set(title=metric_label, xlabel="epoch", ylim=(0, 1))
    for ax in (ax_loss, ax_metric):
        ax.legend(loc="best")
    return fig


def _time_spans(spans, time) -> list[tuple]:
    """``[start, end)`` step spans as x-axis spans: step indices, or times when ``time`` is given."""
    if time is None:
        return [(start - 0.5, end - 0.5) for start, end in spans]
    time = np.asarray(time)
    return [(time[start], time[min(end, len(time) - 1)]) for start, end in spans]  # to the next step's time


def plot_score_timeline(scores, threshold: float, labels=None, predicted=None, time=None,
                        title: str = "anomaly score") -> Figure:
    """The score over time with the label-free threshold, true regions (red) and predicted regions (green).

    ``time`` (optional, one value per step: dates or numbers) is used as the x axis instead of step indices.
    """
    scores = np.asarray(scores)
    x = np.arange(len(scores)) if time is None else np.asarray(time)
    fig = Figure(figsize=(12, 4), layout="constrained")
    ax = fig.subplots()
    ax.plot(x, scores, lw=0.8, color="tab:purple", label="anomaly score")
    ax.axhline(threshold, color=THRESHOLD_COLOR, ls=":", label=f"label-free threshold ({threshold:.3g})")
    if labels is not None:
        for i, (start, end) in enumerate(_time_spans(regions(np.asarray(labels)), time)):
            ax.axvspan(start, end, ymin=0.5, ymax=1.0, color=TRUE_COLOR, alpha=0.2, lw=0,
                       label="true anomaly" if i == 0 else None)
    if predicted is not None:
        for i, (start, end) in enumerate(_time_spans(regions(np.asarray(predicted)), time)):
            ax.axvspan(start, end, ymin=0.0, ymax=0.5, color=PRED_COLOR, alpha=0.35, lw=0,
                       label="predicted (label-free)" if i == 0 else None)
    ax.set(title=f"{title} (true regions: upper half, predicted: lower half)",
           xlabel="time step" if time is None else "time", ylabel="score")
    ax.legend(loc="upper right")
    return fig


def _edges(x: np.ndarray) -> np.ndarray:
    """``len(x) + 1`` cell edges around the positions ``x`` (numbers or datetimes), halfway between neighbours."""
    x = np.asarray(x)
    if len(x) == 1:
        step = np.timedelta64(1, "s") if x.dtype.kind == "M" else 1
        return np.array([x[0] - step / 2, x[0] + step / 2])
    half = np.diff(x) / 2
    return np.concatenate([[x[0] - half[0]], x[:-1] + half, [x[-1] + half[-1]]])


def plot_contributions(contributions, names, predicted=None, time=None, title: str = "which sensor",
                       training=None) -> Figure:
    """Each feature's contribution to the score over time (``SeriesDetector.explain``): one row per feature, on a
    logarithmic colour scale, with the predicted regions marked in a strip above the top row.

    ``contributions`` is ``(T, D)``, ``names`` the ``D`` feature names; ``time`` (optional, ``T`` numbers or
    datetimes) is the x axis instead of step indices; ``training`` (optional, half-open ``(start, end)`` rows of
    ``contributions``) is hatched: the rows the model was trained on.
    """
    from matplotlib.colors import LogNorm

    values = np.asarray(contributions, dtype=np.float64)  # (T, D)
    length, n_features = values.shape
    x = np.arange(length) if time is None else np.asarray(time)
    if x.dtype.kind == "O":  # e.g. pandas Timestamps: as datetime64
        x = x.astype("datetime64[ns]")
    positive = values[values > 0]
    top = float(positive.max()) if positive.size else 1.0
    bottom = max(float(np.percentile(positive, 1)), top * 1e-6) if positive.size else top * 1e-6
    fig = Figure(figsize=(12, 1.6 + 0.3 * n_features), layout="constrained")
    ax = fig.subplots()
    edges = _edges(x)
    mesh = ax.pcolormesh(edges, np.arange(n_features + 1) - 0.5, np.clip(values.T, bottom, top),
                         norm=LogNorm(vmin=bottom, vmax=top), cmap="magma", shading="flat")
    if predicted is not None:
        for i, (start, end) in enumerate(regions(np.asarray(predicted))):
            ax.fill_between([edges[start], edges[end]], -1.3, -0.6, color=PRED_COLOR, lw=0,
                            label="predicted (label-free)" if i == 0 else None)
    if training is not None:
        ax.axvspan(edges[training[0]], edges[min(training[1], length)], facecolor=(0.6, 0.6, 0.6, 0.35),
                   edgecolor="0.85", hatch="//", lw=0, label="training rows")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False, ncols=2)
    ax.set_ylim(n_features - 0.5, -1.4)  # the first feature on top, the strip of predicted regions above it
    ax.set_yticks(range(n_features), labels=[str(n) for n in names])
    ax.set(title=f"{title}: each feature's contribution to the score", xlabel="time step" if time is None else "time")
    fig.colorbar(mesh, ax=ax, label="squared error (log scale)", pad=0.01)
    return fig


def plot_training(history: list[dict], title: str = "training") -> Figure:
    """One run's training loss per epoch, and its validation metrics (``val_*`` keys) when present."""
    epochs = [h["epoch"] for h in history]
    metrics = [key for key in (history[0] if history else {}) if key.startswith("val_")]
    fig = Figure(figsize=(12 if metrics else 7, 4), layout="constrained")
    axes = fig.subplots(1, 2 if metrics else 1)
    ax_loss = axes[0] if metrics else axes
    ax_loss.plot(epochs, [h["train_loss"] for h in history], marker=".")
    ax_loss.set(title=f"{title}: training loss (MSE)", xlabel="epoch", ylabel="loss")
    if history and min(h["train_loss"] for h in history) > 0:
        ax_loss.set_yscale("log")
    if metrics:
        for key in metrics:
            axes[1].plot(epochs, [h[key] for h in history], marker=".", label=key.removeprefix("val_"))
        axes[1].set(title="validation metrics", xlabel="epoch")
        axes[1].legend(loc="best")
    return fig


def plot_calibration(calibration, scores, threshold: float, title: str = "where the alarm level sits") -> Figure:
    """Histograms of the calibration scores (normal data the model did not train on) and of the scored data's
    scores, on a log count axis, with the threshold: how far the alarm level lies into normal data's tail."""
    calibration, scores = np.asarray(calibration, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    top = max(float(calibration.max()), float(scores.max()), float(threshold))
    bins = np.linspace(min(float(calibration.min()), float(scores.min())), top, 80)
    fig = Figure(figsize=(12, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.hist(calibration, bins=bins, color="tab:blue", alpha=0.6, label=f"calibration scores ({len(calibration):,})")
    ax.hist(scores, bins=bins, color="tab:purple", alpha=0.4, label=f"scores of this data ({len(scores):,})")
    ax.axvline(threshold, color=THRESHOLD_COLOR, ls=":", label=f"threshold ({threshold:.3g})")
    ax.set(title=title, xlabel="score", ylabel="steps (log)", yscale="log")
    ax.legend(loc="upper right")
    return fig

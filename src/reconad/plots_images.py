"""Figures for image experiments: ROC curves, score histograms, inputs vs reconstructions, training history.

Each ``plot_*`` function draws on a new matplotlib figure (the object API, so no display is needed) and returns
it; the function of the same name without ``plot_`` writes that figure to ``path`` through a temporary file and
returns the path. Nothing here trains or scores.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import roc_curve

from reconad.plots import save_figure


def plot_roc_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str = "ROC curve") -> Figure:
    """One ROC curve per entry ``label -> (labels 0/1, scores)``, with its AUC in the legend."""
    from reconad.metrics import roc_auc

    fig = Figure(figsize=(5.2, 5), layout="constrained")
    ax = fig.subplots()
    for label, (y_true, scores) in curves.items():
        fpr, tpr, _ = roc_curve(y_true, scores)
        ax.plot(fpr, tpr, label=f"{label} (AUC {roc_auc(y_true, scores):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title, xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower right", fontsize=7)
    return fig


def roc_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], path, title: str = "ROC curve") -> Path:
    """:func:`plot_roc_curves` written to ``path``."""
    return save_figure(plot_roc_curves(curves, title), path)


def plot_score_histograms(panels: Mapping[str, tuple[np.ndarray, np.ndarray]], title: str = "") -> Figure:
    """Per panel ``label -> (labels 0/1, scores)``: histograms of the normal and the anomalous images' scores."""
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax, (label, (y_true, scores)) in zip(axes, panels.items(), strict=False):
        y_true, scores = np.asarray(y_true), np.asarray(scores)
        bins = np.linspace(scores.min(), scores.max(), 50)
        ax.hist(scores[y_true == 0], bins=bins, alpha=0.6, density=True, label="normal")
        ax.hist(scores[y_true == 1], bins=bins, alpha=0.6, density=True, label="anomaly")
        ax.set(title=label, xlabel="anomaly score (MSE)")
        ax.legend(fontsize=7)
    for ax in axes[len(panels) :]:
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig


def score_histograms(panels: Mapping[str, tuple[np.ndarray, np.ndarray]], path, title: str = "") -> Path:
    """:func:`plot_score_histograms` written to ``path``."""
    return save_figure(plot_score_histograms(panels, title), path)


def plot_reconstruction_grid(images: np.ndarray, rows: Mapping[str, np.ndarray], captions: Sequence[str] = (),
                             title: str = "") -> Figure:
    """The input images ``(N, C, H, W)`` on the first row and each ``label -> reconstructions`` below."""
    all_rows = {"input": images, **rows}
    n = len(images)
    fig = Figure(figsize=(1.1 * n + 1.2, 1.15 * len(all_rows) + 0.4), layout="constrained")
    axes = np.asarray(fig.subplots(len(all_rows), n, squeeze=False))
    for r, (label, batch) in enumerate(all_rows.items()):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(_displayable(batch[c]), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=7)
            if r == 0 and c < len(captions):
                ax.set_title(captions[c], fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def _displayable(picture) -> np.ndarray:
    """An image ``(C, H, W)`` or a map ``(H, W)`` as imshow takes it: ``(H, W)`` for one channel, else RGB last."""
    picture = np.asarray(picture)
    if picture.ndim == 2:
        return picture
    return picture[0] if picture.shape[0] == 1 else np.moveaxis(picture[:3], 0, -1)


def plot_map_overlays(images: np.ndarray, maps: np.ndarray, captions: Sequence[str] = (), title: str = "",
                      alpha: float = 0.5) -> Figure:
    """Each image ``(N, C, H, W)`` with its anomaly map ``(N, H, W)`` laid over it as a heat map (one colour
    scale for all, from 0 to the largest value shown), so where the model errs stands out on the picture."""
    n = len(images)
    maps = np.asarray(maps, dtype=np.float64)
    top = max(float(maps.max()), 1e-12)
    fig = Figure(figsize=(1.3 * n + 1.0, 1.7), layout="constrained")
    axes = np.asarray(fig.subplots(1, n, squeeze=False))[0]
    shown = None
    for c, ax in enumerate(axes):
        ax.imshow(_displayable(images[c]), cmap="gray", vmin=0, vmax=1)
        shown = ax.imshow(maps[c], cmap="inferno", vmin=0, vmax=top, alpha=alpha)
        ax.set_xticks([])
        ax.set_yticks([])
        if c < len(captions):
            ax.set_title(captions[c], fontsize=7)
    fig.colorbar(shown, ax=list(axes), shrink=0.8, label="error")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def reconstruction_grid(images: np.ndarray, rows: Mapping[str, np.ndarray], path, captions: Sequence[str] = (),
                        title: str = "") -> Path:
    """:func:`plot_reconstruction_grid` written to ``path``."""
    return save_figure(plot_reconstruction_grid(images, rows, captions, title), path)


def history_curves(histories: Mapping[str, list[dict]], path, keys: Sequence[str] = ("train_loss", "val_roc_auc"),
                   title: str = "") -> Path:
    """Per-epoch curves of ``keys`` (one panel each) for every ``label -> history`` (``ImageDetector.history_``)."""
    fig = Figure(figsize=(4.4 * len(keys), 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(keys)))
    for ax, key in zip(axes, keys, strict=True):
        for label, history in histories.items():
            epochs = [h["epoch"] for h in history if key in h]
            if epochs:
                ax.plot(epochs, [h[key] for h in history if key in h], marker="o", label=label)
        ax.set(xlabel="epoch", title=key)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)

"""The static PNG of a :class:`~reconad.report.timeline.TimelineData`: the same panels, bands and axis as the
interactive chart, drawn with matplotlib — the report's fallback without JavaScript, and a thumbnail.

Dense decimated series are drawn as a filled band between each bucket's minimum and maximum (a line through
thousands of points per inch is a solid block of colour); short ones as lines.
"""

from __future__ import annotations

import re

import numpy as np
from matplotlib.figure import Figure

from reconad.report.timeline import BAND_STYLES, TimelineData

LINE_LIMIT = 2_400  # more points than this (about two per pixel of a 12-inch figure) are drawn as a band


def _rgba(css: str) -> tuple[float, float, float, float]:
    red, green, blue, alpha = (float(v) for v in re.findall(r"[\d.]+", css))
    return red / 255, green / 255, blue / 255, alpha


def _positions(values, kind: str):
    values = np.asarray(values, dtype=np.float64)
    return (values * 1e9).astype("datetime64[ns]") if kind == "time" else values


def _visible(spans: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``spans`` widened around their centre to at least 1/500 of the x range: a one-row region stays visible."""
    spans = np.asarray(spans, dtype=np.float64).reshape(-1, 2)
    least = (float(x[-1]) - float(x[0])) / 500 if len(x) > 1 else 0.0
    centre, half = spans.mean(axis=1), np.maximum((spans[:, 1] - spans[:, 0]) / 2, least / 2)
    return np.column_stack([centre - half, centre + half])


def _draw(ax, xs, line, decimated: bool) -> None:
    values = line.values
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return
    if decimated and len(values) > LINE_LIMIT and finite.max() > finite.min():
        pairs = values.reshape(-1, 2)  # (bucket, its two points), merged to about one bucket per pixel
        starts = np.arange(0, len(pairs), -(-len(pairs) // (LINE_LIMIT // 2)))
        low = np.fmin.reduceat(np.fmin(pairs[:, 0], pairs[:, 1]), starts)
        high = np.fmax.reduceat(np.fmax(pairs[:, 0], pairs[:, 1]), starts)
        ax.fill_between(xs[::2][starts], low, high, color=line.color, alpha=0.45 if line.dash else 0.35, lw=0,
                        label=line.label)
    else:
        ax.plot(xs, values, color=line.color, lw=0.9, ls=":" if line.dash else "-", label=line.label)


def timeline_figure(data: TimelineData, title: str = "") -> Figure:
    """All panels stacked on one shared x axis (dates when the timeline has a time axis), with the bands."""
    heights = [panel.height for panel in data.panels]
    fig = Figure(figsize=(12, 0.45 + sum(heights) / 95), layout="constrained")
    axes = fig.subplots(len(heights), 1, sharex=True, height_ratios=heights, squeeze=False)[:, 0]
    xs = _positions(data.x, data.kind)
    for ax, panel in zip(axes, data.panels):
        for line in panel.lines:
            _draw(ax, xs, line, data.size > 1)
        if panel.log:
            ax.set_yscale("log")
        ax.set_title(panel.title, loc="left", fontsize=10)
        for name, spans in data.bands.items():
            label, color, where = BAND_STYLES[name]
            low, high = {"upper": (0.5, 1.0), "lower": (0.0, 0.5)}.get(where, (0.0, 1.0))
            for i, (start, end) in enumerate(_positions(_visible(spans, data.x), data.kind)):
                ax.axvspan(start, end, ymin=low, ymax=high, color=_rgba(color), lw=0,
                           label=label if i == 0 and ax is axes[-1] else None)
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=8, ncols=5, frameon=False)
        ax.margins(x=0)
    axes[-1].set_xlabel({"time": "time", "rows": "row"}.get(data.kind, "x"))
    if title:
        fig.suptitle(title, fontsize=11)
    return fig

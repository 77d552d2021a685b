"""The series report's timeline: what it draws (:class:`TimelineData`), built once and drawn twice — as an
interactive chart in the page (:func:`timeline_html`) and as the static PNG fallback
(:func:`reconad.report.static.timeline_figure`).

The interactive chart uses uPlot (MIT, Leon Sorokin; vendored as ``report/assets/uPlot.iife.min.js``), inlined so
the report stays one file that needs no network. Why uPlot: it is about 50 KB minified with no dependencies
(Plotly is about 3.5 MB, Chart.js about 200 KB plus a zoom plugin), and it draws on a canvas fast enough for the
tens of thousands of points of several synchronised panels, where SVG charting libraries slow down. Every series
is decimated to at most :data:`~reconad.report.decimate.BUCKETS` min/max buckets first
(:mod:`reconad.report.decimate`), so a ten-million-row series costs the page no more than a ten-thousand-row one.
The data travels as JSON in a ``<script type="application/json">`` block, numbers to five significant digits,
NaN as ``null``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from reconad.report.decimate import BUCKETS, axis_values, bands, bucket_rows, bucket_size, minmax, runs
from reconad.report.html import esc, fmt

MAX_SENSORS = 6  # sensor panels drawn; the rest are named in a note
DATA_COLOR, RECONSTRUCTION_COLOR, SCORE_COLOR, THRESHOLD_COLOR = "#1f77b4", "#ff7f0e", "#7b2cbf", "#d62728"
# name -> (legend, fill colour, where on the panel's height)
BAND_STYLES = {
    "training": ("training rows", "rgba(110, 110, 110, 0.16)", "full"),
    "labels": ("true anomaly", "rgba(214, 39, 40, 0.20)", "upper"),
    "predicted": ("flagged (label-free)", "rgba(44, 160, 44, 0.32)", "lower"),
}
UPLOT_BANNER = "/*! uPlot v1.6.32 | MIT License | (c) 2022 Leon Sorokin | see uPlot.LICENSE in reconad.report */"


@dataclass(frozen=True)
class Line:
    """One drawn series: ``values`` on the timeline's decimated x positions (NaN: not drawn)."""

    label: str
    values: np.ndarray
    color: str
    dash: bool = False


@dataclass(frozen=True)
class Panel:
    """One chart of the timeline; every panel shares the x axis (and the zoom)."""

    title: str
    lines: tuple[Line, ...]
    log: bool = False
    height: int = 140


@dataclass(frozen=True)
class TimelineData:
    """A timeline ready to draw: decimated x positions, panels, bands (``name -> (K, 2)`` x spans), notes."""

    x: np.ndarray
    kind: str  # "time" (seconds since 1970), "numbers" (the time column's numbers) or "rows"
    panels: tuple[Panel, ...]
    bands: dict[str, np.ndarray]
    rows: int
    size: int  # rows per bucket (1: not decimated)
    notes: tuple[str, ...] = field(default=())


def _score_axis(scores: np.ndarray, threshold: float) -> tuple[np.ndarray, bool]:
    """The scores as drawn and whether on a log axis: log when they span more than a decade (a few spikes would
    flatten the threshold line against zero on a linear axis); the axis starts three decades below the median
    score or the threshold, whichever is lower, and values under that (zero included) sit on its floor."""
    finite = scores[np.isfinite(scores)]
    positive = finite[finite > 0]
    if positive.size == 0 or threshold <= 0 or positive.max() < 10 * positive.min():
        return scores, False
    floor = max(float(positive.min()), 1e-3 * min(float(np.median(positive)), threshold))
    return np.where(np.isnan(scores), np.nan, np.maximum(scores, floor)), True


def sensors_to_draw(contributions, predicted, count: int, limit: int = MAX_SENSORS) -> list[int]:
    """The columns the timeline draws, in column order: all up to ``limit``; beyond, the ``limit`` that contribute
    most to the flagged rows (to all rows when none is flagged), or the first ones without contributions."""
    if count <= limit or contributions is None:
        return list(range(min(count, limit)))
    contributions = np.asarray(contributions, dtype=np.float64)
    flagged = np.asarray(predicted) != 0
    weight = np.nansum(contributions[flagged] if flagged.any() else contributions, axis=0)
    return sorted(int(j) for j in np.argsort(-weight, kind="stable")[:limit])


def build_timeline(x, scores, predicted, labels=None, *, threshold: float, names, time=None, training=None,
                   reconstruction=None, rows: tuple[int, int] | None = None, buckets: int = BUCKETS,
                   sensors=None) -> TimelineData:
    """The timeline of ``x`` ``(T, D)`` and its ``scores`` / ``predicted`` / ``labels`` ``(T,)``.

    ``reconstruction``: ``(start, array (L, D))``, the reconstruction of rows ``start .. start + L`` (drawn there
    only); ``training``: the half-open training rows; ``rows``: draw only this half-open range (the zoom around
    the peak of the static figure), ``buckets``: the decimation; ``sensors``: the columns to draw (default: the
    first :data:`MAX_SENSORS`, see :func:`sensors_to_draw`).
    """
    values = np.asarray(x).reshape(len(scores), -1)  # each drawn column is converted on its own
    first, last = rows if rows is not None else (0, len(scores))
    length, notes = last - first, []
    size = bucket_size(length, buckets)
    axis, kind = axis_values(None if time is None else np.asarray(time)[first:last], length)
    at = bucket_rows(length, size)
    sensors = list(range(min(values.shape[1], MAX_SENSORS))) if sensors is None else list(sensors)
    shown = len(sensors)
    if shown < values.shape[1]:
        first_ones = sensors == list(range(shown))
        notes.append(f"{shown} of the {values.shape[1]} sensors are drawn: "
                     + ("the first ones." if first_ones else "those contributing most to the flagged rows ("
                        + ", ".join(str(names[j]) for j in sensors) + ")."))
    if reconstruction is not None:
        start, array = reconstruction
        array = np.asarray(array).reshape(-1, values.shape[1])
        lo, hi = max(start, first), min(start + len(array), last)
        if (lo, hi) != (first, last):
            notes.append(f"The reconstruction is drawn for rows {lo:,} to {hi - 1:,} (around the highest score).")
    panels = []
    for j in sensors:
        lines = [Line(str(names[j]), minmax(values[first:last, j], size), DATA_COLOR)]
        if reconstruction is not None:  # one sensor at a time: NaN outside the reconstructed rows
            column = np.full(length, np.nan)
            if lo < hi:
                column[lo - first:hi - first] = array[lo - start:hi - start, j]
            lines.append(Line(f"{names[j]} reconstruction", minmax(column, size), RECONSTRUCTION_COLOR, True))
        panels.append(Panel(str(names[j]), tuple(lines), height=140 if shown <= 3 else 110))
    drawn, log = _score_axis(np.asarray(scores, dtype=np.float64)[first:last], threshold)
    panels.append(Panel("anomaly score" + (" (log axis)" if log else ""),
                        (Line("score", minmax(drawn, size), SCORE_COLOR),
                         Line(f"threshold {fmt(threshold)}", np.full(len(at), threshold), THRESHOLD_COLOR, True)),
                        log=log, height=190))
    spans = {"predicted": runs(np.asarray(predicted)[first:last])}
    if labels is not None:
        spans["labels"] = runs(np.asarray(labels)[first:last])
    if training is not None and min(training[1], last) > max(training[0], first):
        spans["training"] = np.array([[max(training[0], first) - first, min(training[1], last) - first]])
    drawn_bands = {}
    for name, run in spans.items():
        drawn_bands[name], gap = bands(run, axis, size)
        if gap:
            notes.append(f"{BAND_STYLES[name][0]}: regions at most {gap:,} rows apart are drawn as one.")
    return TimelineData(axis[at], kind, tuple(panels), drawn_bands, length, size, tuple(notes))


def _numbers(values: np.ndarray, digits: int) -> list:
    """Floats rounded to ``digits`` significant digits for JSON (NaN and infinities as None)."""
    spec = f".{digits}g"
    return [float(format(v, spec)) if np.isfinite(v) else None for v in np.asarray(values, dtype=np.float64)]


def payload(data: TimelineData) -> str:
    """The JSON the page's script draws (``<``, ``>`` and ``&`` as ``\\u`` escapes: no text in it can close its
    ``<script>`` block or read as markup)."""
    body = {
        "kind": data.kind,
        "x": _numbers(data.x, 13 if data.kind == "time" else 10),
        "panels": [{"title": p.title, "log": p.log, "height": p.height,
                    "lines": [{"label": line.label, "color": line.color, "dash": line.dash,
                               "values": _numbers(line.values, 5)} for line in p.lines]} for p in data.panels],
        "bands": [{"name": name, "label": BAND_STYLES[name][0], "color": BAND_STYLES[name][1],
                   "where": BAND_STYLES[name][2], "spans": [_numbers(s, 13) for s in spans]}
                  for name, spans in data.bands.items()],
    }
    text = json.dumps(body, separators=(",", ":"), allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def asset(name: str) -> str:
    """The text of a file in ``reconad/report/assets`` (package data, shipped in the wheel)."""
    return resources.files("reconad.report").joinpath("assets", name).read_text(encoding="utf-8")


def head_html() -> str:
    """The styles and scripts a page with a timeline needs, inline: uPlot, its CSS, the report's chart code."""
    library = asset("uPlot.iife.min.js")
    library = UPLOT_BANNER + library[library.index("\n"):]  # the banner without its web address: no URL in the page
    return (f"<style>{asset('uPlot.min.css')}{asset('timeline.css')}</style>"
            f"<script>{library}</script><script>{asset('timeline.js')}</script>")


def timeline_html(data: TimelineData, caption: str) -> str:
    """The interactive timeline: toolbar, band legend, the chart container and its JSON data, then the caption."""
    legend = "".join(f'<span class="rc-swatch" style="background:{BAND_STYLES[name][1]}"></span>'
                     f"{esc(BAND_STYLES[name][0])}" for name in data.bands)
    tools = ('<button type="button" data-act="out">Zoom out</button>'
             '<button type="button" data-act="left">◀ Pan</button><button type="button" data-act="right">Pan ▶'
             '</button><button type="button" data-act="reset">Show all</button>')
    hint = ("Drag across a chart to zoom in, use the mouse wheel to zoom around the cursor, Shift + drag or Shift + "
            "wheel to pan, double-click to show all; every panel follows.")
    notes = " ".join(data.notes)
    if data.size > 1:
        notes = (f"Decimated: {data.rows:,} rows drawn as the minimum and maximum of {len(data.x) // 2:,} buckets of "
                 f"{data.size:,} rows (every peak and dip kept); zooming in shows these points, not the raw rows. "
                 + notes)
    return (f'<div class="rc-timeline"><div class="rc-tools">{tools}<span class="rc-bands">{legend}</span></div>'
            f'<p class="note">{esc(hint)}</p><div class="rc-charts"></div>'
            f'<script type="application/json" class="rc-data">{payload(data)}</script></div>'
            f'<p class="rc-caption">{esc(caption)}</p>' + (f'<p class="note">{esc(notes.strip())}</p>' if notes
                                                          else ""))

"""The table of the top flagged regions, the same for one sensor and for several: where each region starts and
ends (times when there is a time column), how many rows, its peak score and the sensors behind it."""

from __future__ import annotations

import numpy as np

from reconad.report.html import fmt, paragraph, table

SHOWN = 20  # regions listed, highest peak score first


def _when(time, row: int) -> str:
    """Row ``row`` as its time, or its number without a time column."""
    if time is None:
        return f"{row:,}"
    value = np.asarray(time)[row] if not hasattr(time, "iloc") else time.iloc[row]
    if np.asarray(value).dtype.kind == "M":
        import pandas as pd

        value = pd.Timestamp(value)
    return fmt(value)


def _sensors(contributions, spans, names, top: int) -> list[str]:
    """The top sensors of each span with their shares; with one sensor, its name; without contributions, n/a."""
    if len(names) == 1:
        return [str(names[0])] * len(spans)
    if contributions is None:
        return ["n/a"] * len(spans)
    from reconad.explain import region_shares

    return [", ".join(f"{f['feature']} ({100 * f['share']:.0f}%)" for f in region["features"])
            for region in region_shares(contributions, spans, [str(n) for n in names], top)]


def top_regions(spans, scores, names, contributions=None, time=None, top: int = 3, shown: int = SHOWN) -> str:
    """The ``shown`` flagged regions (half-open row ``spans``) with the highest peak scores, as a table; each
    sensor's share is its share of the region's mean squared reconstruction error (``SeriesDetector.explain``)."""
    if len(spans) == 0:
        return paragraph("No region was flagged.", "note")
    scores, spans = np.asarray(scores, dtype=np.float64), np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    bounds = spans.ravel()  # runs never touch: each run's peak is every other reduceat (NaN ignored)
    peaks = np.fmax.reduceat(scores, bounds[:-1] if bounds[-1] == len(scores) else bounds)[::2]
    order = np.argsort(-peaks, kind="stable")[:shown]
    ranked = [tuple(int(v) for v in spans[i]) for i in order]
    rows = []
    for rank, ((start, end), sensors) in enumerate(zip(ranked, _sensors(contributions, ranked, names, top)), 1):
        peak_row = start + int(np.nanargmax(scores[start:end]))
        where = f"{start:,}–{end - 1:,} ({end - start:,})" if time is not None else end - start
        rows.append([rank, _when(time, start), _when(time, end - 1), where, float(scores[peak_row]),
                     _when(time, peak_row), sensors])
    caption = (f"The {len(rows)} flagged region(s) with the highest peak scores"
               + (f" (of {len(spans):,})" if len(spans) > len(rows) else "")
               + ("; top sensors by their share of the region's mean squared reconstruction error." if len(names) > 1
                  else "."))
    header = (["#", "start", "end", "rows (count)"] if time is not None else ["#", "first row", "last row", "rows"])
    header += ["peak score", "peak at", "top sensors (share)"]
    return paragraph(caption) + f'<div class="regions">{table(header, rows)}</div>'

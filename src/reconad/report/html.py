"""The building blocks of a self-contained HTML report: escaped text, tables, embedded PNG figures, the page.

Everything here works on strings, numbers and PNG bytes; nothing runs a model or reads a detector. A report is
a list of :class:`Section` objects that :func:`render` turns into one HTML document (inline CSS, figures as
base64 data URIs, scripts only inline, no network) and :func:`write_report` writes atomically.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

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
.regions td:not(:last-child) { white-space: nowrap; }
tr.oracle td { background: #fff7e6; }
tr.label-free td { background: #eef8f0; }
figure { margin: 1em 0 1.5em; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e6ea; }
figcaption { color: #5f6b7a; font-size: 0.9em; }
details { margin: 0.8em 0; }
summary { cursor: pointer; color: #2d4a6b; font-weight: 600; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 0 1.2em; }
code { background: #f3f5f7; padding: 0 0.25em; border-radius: 3px; font-size: 0.92em; }
.note { color: #5f6b7a; font-size: 0.9em; }
footer { margin-top: 3em; color: #8a94a2; font-size: 0.85em; }
"""


@dataclass
class Section:
    """A titled part of a report; ``body`` is HTML (build it with the helpers here, which escape text)."""

    title: str
    body: str


def esc(value) -> str:
    """``value`` as text safe inside HTML (quotes escaped too, so it fits in an attribute)."""
    return html.escape(str(value), quote=True)


def fmt(value, digits: int = 4) -> str:
    """A number for a table: ``n/a`` for None / NaN, integers as is, floats to ``digits`` significant digits, the
    trailing zeros kept so that numbers side by side read alike (``0.6910`` beside ``0.7782``)."""
    if value is None:
        return "n/a"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value) or math.isinf(value):
            return "n/a" if math.isnan(value) else str(float(value))
        text = f"{float(value):#.{digits}g}"
        return text[:-1] if text.endswith(".") else text
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
    """A two-column table, one row per key."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(fmt(v))}</td></tr>" for k, v in pairs.items())
    return f'<table class="card"><tbody>{rows}</tbody></table>'


def paragraph(text: str, css: str = "") -> str:
    """A ``<p>`` of escaped text, with an optional CSS class (``"note"``: small and grey)."""
    return f'<p class="{css}">{esc(text)}</p>' if css else f"<p>{esc(text)}</p>"


def _slug(index: int, title: str) -> str:
    return f"s{index}-" + "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")


def render(title: str, sections: Sequence[Section], subtitle: str = "", head: str = "") -> str:
    """The whole HTML document (UTF-8 text, no external resource); ``head``: inline styles and scripts to add."""
    from reconad import __version__

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    toc = "".join(f'<li><a href="#{_slug(i, s.title)}">{esc(s.title)}</a></li>' for i, s in enumerate(sections))
    body = "".join(f'<section id="{_slug(i, s.title)}"><h2>{esc(s.title)}</h2>{s.body}</section>'
                   for i, s in enumerate(sections))
    sub = f'<p class="subtitle">{esc(subtitle)}</p>' if subtitle else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style>{head}</head><body>"
            f"<header><h1>{esc(title)}</h1>{sub}</header><nav><ol>{toc}</ol></nav>{body}"
            f"<footer>reconad {esc(__version__)} · generated {stamp} · self-contained: "
            f"{'inline scripts only' if '<script' in head + body else 'no scripts'}, no network"
            f"</footer></body></html>\n")


def write_report(path: str | os.PathLike, document: str) -> Path:
    """Write the HTML atomically (temporary file, then rename)."""
    from reconad.atomic import atomic_write_bytes

    return atomic_write_bytes(path, document.encode("utf-8"))

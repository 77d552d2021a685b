"""What every benchmark suite writes: a JSON record and a Markdown table, with the machine that produced them.

Nothing here imports torch at import time: the machine's description imports it when asked.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path


def machine() -> dict:
    """Python, platform, CPU count, torch version and threads, the GPU (if any) and reconad's version."""
    import torch

    from reconad import __version__

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "reconad": __version__,
    }


def cell(value) -> str:
    """A table cell: floats to 3 decimals, ``None`` as ``–``, anything else as ``str``."""
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub-flavoured Markdown table (floats to 3 decimals)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def pct(value: float) -> str:
    """A rate as a percentage with one decimal: ``0.075 -> "7.5%"``."""
    return f"{100 * value:.1f}%"


def summary_line(summary: dict) -> str:
    """One summary as ``key value`` pairs on one line: floats to 3 decimals, ``None`` as ``–``."""
    return " ".join(f"{key} {cell(value)}" for key, value in summary.items())


def write_results(out_dir, stem: str, payload: dict, markdown: str) -> tuple[Path, Path]:
    """Write ``stem.json`` and ``stem.md`` into ``out_dir`` (each to a temporary file, then renamed)."""
    from reconad.atomic import atomic_write_bytes

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload, indent=2, default=_plain) + "\n"
    json_path = atomic_write_bytes(out / f"{stem}.json", text.encode())
    md_path = atomic_write_bytes(out / f"{stem}.md", markdown.encode())
    return Path(json_path), Path(md_path)


def _plain(value):
    """JSON for numpy scalars and arrays (``json.dumps`` default)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class torch_threads:
    """Set torch's intra-op thread count for a block and restore it afterwards (None leaves it alone)."""

    def __init__(self, count: int | None):
        self.count = count

    def __enter__(self):
        import torch

        self.saved = torch.get_num_threads()
        if self.count is not None:
            torch.set_num_threads(self.count)
        return self

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self.saved)

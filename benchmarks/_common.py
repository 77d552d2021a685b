"""Helpers shared by the benchmark scripts: the machine's description and writing JSON + Markdown results."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import torch

import reconad
from reconad.persistence import atomic_write_bytes

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "reconad": reconad.__version__,
    }


def write_results(name: str, payload: dict, markdown: str) -> tuple[Path, Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path = atomic_write_bytes(RESULTS / f"{name}.json", (json.dumps(payload, indent=2) + "\n").encode())
    md_path = atomic_write_bytes(RESULTS / f"{name}.md", markdown.encode())
    return json_path, md_path


def markdown_table(header: list[str], rows: list[list]) -> str:
    def cell(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def sine_means(params: dict, seeds=range(10)) -> dict:
    """Mean AUPRC and label-free point F1 of ``SeriesDetector(random_state=seed, **params)`` on the independent
    sine protocol (seeds 0-9, as ``benchmarks/sine_independent.py``)."""
    import numpy as np

    from reconad import SeriesDetector
    from reconad import metrics as M
    from reconad.data import make_sine

    rows = []
    for seed in seeds:
        data = make_sine(seed, "independent")
        det = SeriesDetector(random_state=seed, verbose=False, **params).fit(data.train)
        scores, predicted = det.anomaly_score(data.test), det.predict(data.test)
        rows.append((M.auprc(data.test_labels, scores), M.point_f1(data.test_labels, predicted)))
    auprc, f1 = np.mean(rows, axis=0)
    return {"auprc": float(auprc), "label_free_f1": float(f1)}

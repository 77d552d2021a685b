"""Helpers shared by the benchmark scripts: the machine's description and writing JSON + Markdown results."""

from __future__ import annotations

import json
import os
import platform
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

import reconad
from reconad.bench import confusion, rates
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


STUDY_HEADER = ["validation AUPRC", "validation F1", "validation FAR", "SKAB pooled F1", "SKAB FAR", "SKAB MAR",
                "SKAB AUC-PR", "NAB AUC-PR", "NAB label-free F1", "sine AUPRC", "sine label-free F1"]


def study_row(params: dict, validation_cases) -> dict:
    """One setting of a trade-off study: SeriesDetector's defaults plus ``params`` on SKAB's label-free validation
    suite (``skab_validation.py``, mean + 4 std), SKAB, NAB and the independent sine benchmark."""
    import time

    import skab_validation

    from reconad.bench import bench_nab, bench_skab

    began = time.perf_counter()
    val = skab_validation.evaluate(params, validation_cases)
    skab = bench_skab(detectors=("reconad",), params=params)["summary"]["reconad"]
    nab = bench_nab(detectors=("reconad",), params=params)["summary"]["reconad"]
    return {
        "validation_auprc": val["auprc"],
        "validation_f1": val["mean+4std"]["f1"],
        "validation_far": val["mean+4std"]["far"],
        "skab_pooled_f1": skab["pooled_f1"],
        "skab_far": skab["pooled_far"],
        "skab_mar": skab["pooled_mar"],
        "skab_auprc": skab["mean_auprc"],
        "nab_auprc": nab["auprc"],
        "nab_label_free_f1": nab["f1"],
        **{f"sine_{k}": v for k, v in sine_means(params).items()},
        "seconds": time.perf_counter() - began,
    }


def study_cells(row: dict) -> list:
    """The STUDY_HEADER cells of a ``study_row``."""
    pct = "{:.1f}%".format
    return [row["validation_auprc"], row["validation_f1"], pct(100 * row["validation_far"]), row["skab_pooled_f1"],
            pct(100 * row["skab_far"]), pct(100 * row["skab_mar"]), row["skab_auprc"], row["nab_auprc"],
            row["nab_label_free_f1"], row["sine_auprc"], row["sine_label_free_f1"]]


def pooled(pairs: Iterable[tuple[np.ndarray, np.ndarray]]) -> dict:
    """Point counts and rates (F1, FAR, MAR, ...) pooled over ``(labels, flags)`` pairs, as SKAB's leaderboard
    pools its files."""
    total = sum((Counter(confusion(labels, flags)) for labels, flags in pairs), Counter())
    return {**{k: int(total[k]) for k in ("tp", "fp", "fn", "tn")}, **rates(total)}


def pct(value: float) -> str:
    """A rate as a percentage with one decimal: ``0.075 -> "7.5%"``."""
    return f"{100 * value:.1f}%"


def suite_reads(name: str, row: dict) -> str:
    """One sentence of a row's validation, clean and SKAB rates (the studies that choose on ``skab_split``'s
    suites): ``**name**: validation F1 ... at FAR ..., clean FAR ...; SKAB ... at FAR ..., MAR ...``."""
    return (f"**{name}**: validation F1 {row['validation']['f1']:.3f} at FAR {pct(row['validation']['far'])}, "
            f"clean FAR {pct(row['clean']['far'])}; SKAB {row['SKAB']['f1']:.3f} at FAR {pct(row['SKAB']['far'])}, "
            f"MAR {pct(row['SKAB']['mar'])}")


def brief(row: dict | None, name) -> str:
    """A row's SKAB F1 / FAR, then its settings (``name(row)`` after the member set) and validation rates, for the
    per-set tables; "none" without a row."""
    if row is None:
        return "none"
    settings = name(row).split(", ", 1)[1]
    return (f"{row['SKAB']['f1']:.3f} / {pct(row['SKAB']['far'])} ({settings}; validation "
            f"{row['validation']['f1']:.3f} / {pct(row['validation']['far'])}, clean {pct(row['clean']['far'])})")


def verdict(chosen: dict, default: dict, best_read: dict, name) -> str:
    """The closing sentence of a member table: the row chosen on validation from every row, the defaults, and the
    best SKAB F1 at FAR <= 10% (*oracle*), each with ``suite_reads``; ``name(row)`` names a row."""
    return (f"Chosen on validation from every row: {suite_reads(name(chosen), chosen)}. The defaults: "
            f"{suite_reads('the defaults', default)}. *Oracle*, the best SKAB F1 of any row at FAR <= 10%: "
            f"{suite_reads(name(best_read), best_read)}. The target is F1 >= 0.85 at FAR <= 10%.")


def picks(rows: list[dict], default: dict) -> tuple[dict | None, dict | None]:
    """(the row ``skab_split.py``'s rule picks from ``rows`` on validation alone: the highest validation F1 with
    validation and clean FAR no higher than ``default``'s; the best SKAB F1 at FAR <= 10%, an *oracle*), each None
    when no row qualifies."""
    eligible = [r for r in rows if r["validation"]["far"] <= default["validation"]["far"]
                and r["clean"]["far"] <= default["clean"]["far"]]
    fit = [r for r in rows if r["SKAB"]["far"] <= 0.10]
    return (max(eligible, key=lambda r: r["validation"]["f1"]) if eligible else None,
            max(fit, key=lambda r: r["SKAB"]["f1"]) if fit else None)

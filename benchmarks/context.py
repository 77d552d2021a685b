"""Choosing ``context`` (how far below-threshold steps look for a nearby alarm) without NAB's test labels.

NAB labels a window around each anomaly (10% of the series' length shared between its anomalies, centred on each)
and counts every row of it, while the sine benchmark labels the anomalous steps only. ``context`` re-ranks only the
steps the threshold leaves unflagged, so the label-free predictions, and with them every point F1, FAR and MAR,
stay exactly as they are; what it changes is threshold-free measures such as AUC-PR.

Validation suites (no benchmark labels): the sine generator with NAB's labelling rule applied to its anomalies.
Per case, a training series of normal data and an independent test series with 2 or 3 anomalies of 1, 5 or 20
steps (periods 50, 100, 150; seeds 100-105, never the sine benchmark's 0-9); every label window is
``floor(0.1 * length / anomalies)`` rows centred on its anomaly.

- ``validation 3000``: 3,000-row test series, 750 training rows (the first version of the suite);
- ``validation 4032``: NAB's own shape, 4,032-row test series (NAB's most common length, 14 days at 5 minutes)
  and 604 training rows (NAB's probation for that length).

Each case is fitted once with the defaults; each ``context`` value (and each other weight of the neighbourhood,
``CONTEXT_WEIGHT``, at the default context) re-scores it (the threshold does not depend on
it). Reported next to them, with the same fits per suite: the sine benchmark (seeds 0-9, its step labels), NAB
(``nab.md``'s protocol) and SKAB (``skab.md``'s protocol; its F1 does not move, its AUC-PR may). The NAB and SKAB
columns read test labels: a value picked from them is an oracle choice.

    OMP_NUM_THREADS=1 python benchmarks/context.py        # about 20 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, markdown_table, write_results  # noqa: E402

import reconad.detector as detector_module  # noqa: E402
from reconad import SeriesDetector  # noqa: E402
from reconad.data import load_skab_file, make_sine  # noqa: E402
from reconad.data.nab import load_nab_series, probation, read_windows  # noqa: E402
from reconad.data.skab import TRAIN_ROWS, skab_files  # noqa: E402
from reconad.detector import CONTEXT_DEFAULT, CONTEXT_WEIGHT  # noqa: E402
from reconad.metrics import auprc, point_f1, regions  # noqa: E402

CONTEXTS = (0, 10, 25, 35, 50, 75, 100)
WEIGHTS = (3.0, 10.0, 1000.0)  # other CONTEXT_WEIGHTs (the default is 100), tried at the default context
SUITE_SHAPES = {"validation 3000": (3000, 750), "validation 4032": (4032, 604)}  # test rows, training rows


def nab_rule_labels(exact: np.ndarray) -> np.ndarray:
    """NAB's labelling rule on known anomalies: a window of 10% of the length / anomalies, centred on each."""
    spans = regions(exact)
    width = int(0.1 * len(exact) / max(1, len(spans)))
    labels = np.zeros(len(exact), dtype=np.int8)
    for start, end in spans:
        centre = (start + end) // 2
        labels[max(0, centre - width // 2) : centre + width // 2] = 1
    return labels


def validation_cases(length: int, n_train: int):
    for seed in range(100, 106):
        for period in (50, 100, 150):
            for anomaly_length in (1, 5, 20):
                data = make_sine(seed, "independent", period=period, repeat=-(-length // period), test_length=length,
                                 n_anomalies=2 + seed % 2, anomaly_length=anomaly_length)
                yield seed, data.train[:n_train], data.test, nab_rule_labels(np.asarray(data.test_labels))


def sweep(fitted: SeriesDetector, test: np.ndarray, labels: np.ndarray, scored_from: int = 0) -> dict:
    """AUC-PR and label-free point F1 of one fitted detector for every ``CONTEXTS`` value (keys: the context), and
    for every other ``WEIGHTS`` value at the default context (keys: ``"weight <w>"``)."""
    row = {}
    variants = [(c, CONTEXT_WEIGHT) for c in CONTEXTS] + [(CONTEXT_DEFAULT, w) for w in WEIGHTS]
    for context, weight in variants:
        detector_module.CONTEXT_WEIGHT = weight  # read by with_context at scoring time
        try:
            fitted.set_params(context=context)
            scores = fitted.anomaly_score(test)[scored_from:]
        finally:
            detector_module.CONTEXT_WEIGHT = CONTEXT_WEIGHT
        flags = fitted.threshold_.predict(scores)  # the fitted threshold: context never moves it
        key = context if weight == CONTEXT_WEIGHT else f"weight {weight:g}"
        row[key] = {"auprc": auprc(labels[scored_from:], scores), "f1": point_f1(labels[scored_from:], flags)}
    return row


def mean(rows: list[dict]) -> dict:
    return {c: {k: float(np.mean([r[c][k] for r in rows])) for k in ("auprc", "f1")} for c in rows[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", nargs="+", default=[*SUITE_SHAPES, "sine", "NAB", "SKAB"])
    args = parser.parse_args()
    logging.getLogger("reconad").setLevel(logging.ERROR)  # short training parts shrink the window
    began, results = time.perf_counter(), {}
    for suite in args.suites:
        rows = []
        if suite in SUITE_SHAPES:
            for seed, train, test, labels in validation_cases(*SUITE_SHAPES[suite]):
                rows.append(sweep(SeriesDetector(random_state=seed, verbose=False).fit(train), test, labels))
        elif suite == "sine":
            for seed in range(10):
                data = make_sine(seed, "independent")
                det = SeriesDetector(random_state=seed, verbose=False).fit(data.train)
                rows.append(sweep(det, data.test, np.asarray(data.test_labels)))
        elif suite == "NAB":
            windows = read_windows()
            for name in windows:
                series = load_nab_series(name, None, windows)
                n = probation(len(series.values))
                if series.labels[n:].any():
                    det = SeriesDetector(random_state=0, verbose=False).fit(series.values[:n])
                    rows.append(sweep(det, series.values, np.asarray(series.labels), n))
        elif suite == "SKAB":
            for name in skab_files():
                recording = load_skab_file(name)
                x = recording.features.to_numpy(dtype=np.float32)
                det = SeriesDetector(random_state=0, verbose=False).fit(x[:TRAIN_ROWS])
                rows.append(sweep(det, x, np.asarray(recording.labels), TRAIN_ROWS))
        else:
            raise SystemExit(f"unknown suite {suite!r}")
        results[suite] = {"cases": len(rows), "mean": mean(rows)}
        means = results[suite]["mean"].items()
        print(suite, len(rows), " ".join(f"{c}: {v['auprc']:.4f}/{v['f1']:.3f}" for c, v in means), flush=True)

    header = ["context", *[f"{s} AUC-PR ({results[s]['cases']})" for s in results], "label-free F1 (every suite)"]
    body = []
    for c in results[next(iter(results))]["mean"]:
        f1s = " / ".join(f"{results[s]['mean'][c]['f1']:.3f}" for s in results)
        label = c if isinstance(c, str) else f"{c}" + (" (default)" if c == CONTEXT_DEFAULT else "")
        body.append([label, *[results[s]["mean"][c]["auprc"] for s in results], f1s])
    md = (
        "# `context`: ranking the unflagged steps by their neighbourhood\n\n"
        "`OMP_NUM_THREADS=1 python benchmarks/context.py`. Each case fitted once with the defaults; each context "
        "re-scores it. *validation 3000 / 4032*: the sine generator with NAB's labelling rule (a window of 10% of "
        "the length shared between the anomalies, centred on each; seeds 100-105), 3,000 test rows after 750 "
        "training rows, or NAB's shape, 4,032 after 604. *sine*: the sine benchmark (seeds 0-9, step labels). *NAB* "
        "and *SKAB*: their benchmark protocols, which read test labels (a context picked from them is an oracle "
        "choice). Label-free F1 is the same in every row by construction: context never moves a step across the "
        f"threshold. The last rows keep the context at {CONTEXT_DEFAULT} and change the weight of the neighbourhood "
        f"against a step's own score (`CONTEXT_WEIGHT`, {CONTEXT_WEIGHT:g} by default).\n\n"
        + markdown_table(header, body)
    )
    write_results("context", {"machine": machine(), "seconds": time.perf_counter() - began, "results": results}, md)


if __name__ == "__main__":
    main()

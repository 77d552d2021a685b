"""Reproduce the course notebook's RNN auto-encoder on its own protocol, through the public API.

Protocol (the notebook's): noisy sine of 3,000 steps for training; the test series is a copy of the first
1,000 training steps with 5 injected anomalies of 10 steps; the preset "sine-notebook" (2-layer RNN, an
autoregressive decoder, hidden 32, window 100 / stride 10, non-overlapping test windows, 20 epochs, batch 8,
Adam 1e-3). Like the notebook we report the *final-epoch* AUPRC and the *oracle* best F1 searched over 1,000
thresholds in (p50, p99] of the test scores, which uses the test labels (an oracle, not a detector).
The label-free F1 (threshold from the detector, fitted on training scores) is shown beside it.

    python benchmarks/sine_notebook.py [--seeds 223 0 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, markdown_table, write_results  # noqa: E402

from reconad import SeriesDetector  # noqa: E402
from reconad.data import make_sine  # noqa: E402
from reconad.metrics import auprc, oracle_best_f1_grid, point_f1  # noqa: E402

REFERENCE = {"auprc": 0.62, "oracle_f1": 0.71, "per_seed_auprc": [0.679, 0.590, 0.590],
             "per_seed_oracle_f1": [0.781, 0.684, 0.667], "seeds": [223, 0, 1]}


def run(seed: int) -> dict:
    data = make_sine(seed, "notebook")
    det = SeriesDetector.from_preset("sine-notebook", random_state=seed, verbose=False)
    started = time.perf_counter()
    det.fit(data.train, validation=(data.test, data.test_labels))
    fit_seconds = time.perf_counter() - started
    scores = det.anomaly_score(data.test)
    return {
        "seed": seed,
        "auprc": auprc(data.test_labels, scores),
        "oracle_f1_grid": oracle_best_f1_grid(data.test_labels, scores).f1,
        "label_free_f1": point_f1(data.test_labels, det.predict(data.test)),
        "fit_seconds": fit_seconds,
        "history": det.history_,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[223, 0, 1])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # the reference was timed on one CPU thread
    runs = [run(seed) for seed in args.seeds]
    mean = {k: float(np.mean([r[k] for r in runs])) for k in ("auprc", "oracle_f1_grid", "label_free_f1",
                                                              "fit_seconds")}
    payload = {"protocol": "notebook", "preset": "sine-notebook", "threads": 1, "runs": runs, "mean": mean,
               "reference_notebook_script": REFERENCE, "machine": machine()}
    rows = [[r["seed"], r["auprc"], r["oracle_f1_grid"], r["label_free_f1"], f"{r['fit_seconds']:.1f}"]
            for r in runs]
    rows.append(["**mean**", mean["auprc"], mean["oracle_f1_grid"], mean["label_free_f1"],
                 f"{mean['fit_seconds']:.1f}"])
    md = (
        "# Course notebook reproduced: RNN auto-encoder on the noisy sine (notebook protocol)\n\n"
        "`python benchmarks/sine_notebook.py` — preset `sine-notebook`, final epoch, one CPU thread.\n"
        "The test series copies training noise (the notebook's protocol): optimistic by design.\n\n"
        + markdown_table(["seed", "AUPRC", "oracle best-F1 (notebook grid)", "label-free F1", "fit s"], rows)
        + f"\nReference (a script copy of the notebook on this machine, seeds 223/0/1): AUPRC "
        f"{REFERENCE['per_seed_auprc']} (mean {REFERENCE['auprc']}), oracle best-F1 "
        f"{REFERENCE['per_seed_oracle_f1']} (mean {REFERENCE['oracle_f1']}).\n\n"
        "*Oracle* = threshold chosen with the test labels (the notebook's search over 1,000 thresholds in "
        "(p50, p99]); *label-free* = the detector's own threshold (the default, mean + 4 standard deviations), "
        "fitted on training scores as the notebook trains on all its data (`calibration_split=0`).\n"
    )
    json_path, md_path = write_results("sine_notebook", payload, md)
    print(md)
    print(f"wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()

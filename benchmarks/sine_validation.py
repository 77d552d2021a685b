"""How SeriesDetector's defaults were chosen: a validation suite of our own synthetic series.

Never the benchmark's test series: the suite uses seeds 100-109 (the benchmark uses 0-9) and five variants
of the generator, so a choice that only suits the benchmark's anomaly length or period does not win:

- ``base``: the notebook's series (period 100, anomalies of 10 steps scaled x2);
- ``short`` / ``long``: anomalies of 5 / 20 steps;
- ``fast`` / ``slow``: a period of 50 / 150 steps.

Every candidate is trained on the training series (the last 20% held out for calibration, as the detector
does) and scored on the independent test series. For each candidate we report AUPRC and the point F1 of
several label-free threshold rules fitted on the calibration tail's scores. The *oracle* F1 (best threshold
chosen with the labels) is shown only as a ceiling.

    python benchmarks/sine_validation.py            # the full grid (about 15 minutes on one CPU thread)
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

from scipy.ndimage import uniform_filter1d

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, markdown_table, write_results  # noqa: E402

from reconad import SeriesDetector  # noqa: E402
from reconad.data import make_sine  # noqa: E402
from reconad.metrics import auprc, oracle_best_f1, point_f1  # noqa: E402
from reconad.thresholds import POT, MeanStd, MedianMAD, Quantile, Threshold, make_threshold  # noqa: E402

VARIANTS = {
    "base": {},
    "short": {"anomaly_length": 5},
    "long": {"anomaly_length": 20},
    "fast": {"period": 50, "repeat": 60},
    "slow": {"period": 150, "repeat": 20},
}
SEEDS = range(100, 105)
MODELS = ("dense", "conv1d", "lstm")
WINDOWS = (50, 100)
SCORE_STRIDES = (1, 10)
SMOOTHING = (1, 3, 5, 9)


def threshold_rules() -> dict[str, Threshold]:
    return {
        "quantile 0.99": Quantile(0.99),
        "quantile 0.995": Quantile(0.995),
        "mean_std 3": MeanStd(3.0),
        "mean_std 4": MeanStd(4.0),
        "median_mad 3.5": MedianMAD(3.5),
        "pot 1e-3": POT(1e-3),
        "pot 1e-2": POT(1e-2),
    }


def evaluate(model: str, window: int, seed: int, variant: str, rules: dict) -> list[dict]:
    data = make_sine(seed, "independent", **VARIANTS[variant])
    det = SeriesDetector(model=model, window=window, random_state=seed, verbose=False)
    started = time.perf_counter()
    det.fit(data.train)
    fit_seconds = time.perf_counter() - started
    n_cal = int(round(len(data.train) * det.calibration_split))
    calibration = data.train[-n_cal:]  # the held-out tail: scored exactly as the detector scores it
    rows = []
    for score_stride in SCORE_STRIDES:
        det.set_params(score_stride=score_stride, smooth=1)
        raw_test, raw_cal = det.anomaly_score(data.test), det.anomaly_score(calibration)
        for smooth in SMOOTHING:
            test = uniform_filter1d(raw_test, smooth, mode="nearest") if smooth > 1 else raw_test
            cal = uniform_filter1d(raw_cal, smooth, mode="nearest") if smooth > 1 else raw_cal
            row = {"model": model, "window": window, "score_stride": score_stride, "smooth": smooth,
                   "variant": variant, "seed": seed, "fit_seconds": fit_seconds,
                   "auprc": auprc(data.test_labels, test), "oracle_f1": oracle_best_f1(data.test_labels, test).f1}
            for label, rule in rules.items():
                fitted = make_threshold(rule).fit(cal)
                row[f"f1 {label}"] = point_f1(data.test_labels, fitted.predict(test))
            rows.append(row)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    args = parser.parse_args(argv)
    import pandas as pd
    import torch

    torch.set_num_threads(1)  # small models: one thread is faster, and timings are comparable

    rules = threshold_rules()
    rows = []
    for model, window, variant, seed in itertools.product(args.models, WINDOWS, VARIANTS, args.seeds):
        rows.extend(evaluate(model, window, seed, variant, rules))
        print(f"{model} w{window} {variant} seed {seed}", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows)
    keys = ["model", "window", "score_stride", "smooth"]
    metrics = ["auprc", "oracle_f1"] + [f"f1 {label}" for label in rules]
    summary = table.groupby(keys)[metrics + ["fit_seconds"]].mean().reset_index()
    summary = summary.sort_values("auprc", ascending=False)
    per_variant = table.groupby(keys + ["variant"])["auprc"].mean().unstack("variant").reset_index()
    md = (
        "# Choosing SeriesDetector's defaults on our own synthetic series\n\n"
        "`python benchmarks/sine_validation.py` — seeds "
        f"{min(args.seeds)}-{max(args.seeds)} (never the benchmark's 0-9), variants {list(VARIANTS)}, "
        "independent test noise. Mean over all variants and seeds; F1 columns are label-free thresholds fitted "
        "on the calibration tail; `oracle_f1` uses the test labels and is only a ceiling.\n\n"
        + markdown_table(keys + metrics + ["fit_seconds"], summary.head(24).values.tolist())
        + "\n## AUPRC per variant (top 12 by mean AUPRC)\n\n"
        + markdown_table(list(per_variant.columns), summary[keys].head(12).merge(per_variant, on=keys).values.tolist())
    )
    write_results("sine_validation", {"rows": rows, "machine": machine()}, md)
    print(md)


if __name__ == "__main__":
    main()

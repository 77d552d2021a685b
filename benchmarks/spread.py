"""What ``spread`` buys and costs: NAB, SKAB and the independent sine benchmark for a range of spreads.

``SeriesDetector(spread=k)`` widens each high score over about ``k`` steps while keeping peaks (a decayed max,
see ``reconad.detector.decayed_max``). NAB labels a window of about a tenth of the series around each anomaly,
and counts every row of it, so widened scores rank more of its rows above the normal ones; the sine benchmark
labels exactly the 10 anomalous steps, so widened scores rank normal neighbours among them. This script
measures both sides with every other parameter at its default, on the same protocols as ``benchmarks/nab.py``,
``benchmarks/skab.py`` and ``benchmarks/sine_independent.py`` (seeds 0-9). It reads test labels for every
row of its table: it is a trade-off study, and any spread picked from it for NAB is an *oracle* choice.

    OMP_NUM_THREADS=1 python benchmarks/spread.py        # about 4 minutes on one CPU thread
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402

from _common import machine, markdown_table, sine_means, write_results  # noqa: E402

from reconad.bench import bench_nab, bench_skab, summary_line  # noqa: E402

SPREADS = (0, 5, 10, 15, 20, 25, 35, 50)



def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spreads", type=int, nargs="+", default=list(SPREADS))
    args = parser.parse_args(argv)
    logging.getLogger("reconad").setLevel(logging.ERROR)  # the short-training warning, once per series
    rows = []
    for spread in args.spreads:
        began = time.perf_counter()
        params = {"spread": spread}
        nab = bench_nab(detectors=("reconad",), params=params)["summary"]["reconad"]
        skab = bench_skab(detectors=("reconad",), params=params)["summary"]["reconad"]
        row = {
            "spread": spread,
            "nab_auprc": nab["auprc"],
            "nab_roc_auc": nab["roc_auc"],
            "nab_label_free_f1": nab["f1"],
            "nab_event_f1": nab["event_f1"],
            "skab_pooled_f1": skab["pooled_f1"],
            "skab_far": skab["pooled_far"],
            "skab_mar": skab["pooled_mar"],
            "skab_auprc": skab["mean_auprc"],
            **{f"sine_{k}": v for k, v in sine_means({"spread": spread}).items()},
            "seconds": time.perf_counter() - began,
        }
        rows.append(row)
        print(summary_line(row), flush=True)
    header = ["spread", "NAB AUC-PR", "NAB ROC-AUC", "NAB label-free F1", "NAB event F1", "SKAB pooled F1",
              "SKAB FAR", "SKAB MAR", "SKAB AUC-PR", "sine AUPRC", "sine label-free F1"]
    table = [[r["spread"], r["nab_auprc"], r["nab_roc_auc"], r["nab_label_free_f1"], r["nab_event_f1"],
              r["skab_pooled_f1"], f"{100 * r['skab_far']:.1f}%", f"{100 * r['skab_mar']:.1f}%", r["skab_auprc"],
              r["sine_auprc"], r["sine_label_free_f1"]] for r in rows]
    markdown = (
        "# What `spread` buys and costs\n\n"
        "`OMP_NUM_THREADS=1 python benchmarks/spread.py`: `SeriesDetector(random_state=seed, spread=k)`, every other "
        "parameter at its default, on the protocols of `nab.md` (mean over 45 series), `skab.md` (pooled over 34 "
        "files) and `sine_independent.md` (seeds 0-9). Thresholds are label-free (mean + 4 std of the spread "
        "calibration scores); every column reads test labels, so a spread picked from this table for one suite is an "
        "*oracle* choice.\n\n"
        + markdown_table(header, table)
        + "\nTargets: NAB AUC-PR above 0.390 (TSB-AD POLY, issue 6); sine AUPRC >= 0.80 and label-free F1 >= 0.72 "
        "(issue 5, defaults only). NAB's labels are windows of about a tenth of the series around each anomaly; the "
        "sine's are the 10 anomalous steps. Widening the scores helps the first and hurts the second, so the default "
        "stays `spread=0`.\n"
    )
    payload = {"machine": machine(), "spreads": args.spreads, "rows": rows}
    for path in write_results("spread", payload, markdown):
        print("wrote", path)


if __name__ == "__main__":
    main()

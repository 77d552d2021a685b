"""What ``drift="auto"`` buys and costs: SKAB, its label-free validation suite, NAB and the independent sine benchmark.

``SeriesDetector(drift="auto")`` (the default) finds the features whose level drifts over the training part (the
standard deviation of their four block means is at least half their standard deviation: SKAB's temperature and
thermocouple in nearly every file) and shows them to the model centred on each window's mean, so a temperature
that keeps creeping after training stops being an alarm. ``drift=None`` centres nothing. Every other parameter
is at its default. A third row drops centring for ``min_scale=0.01`` (a floor under every feature's scale, which the
README explains and does not make the default because it depends on the sensors' units). The SKAB, NAB and sine
columns read those benchmarks' test labels (the protocols of ``skab.md``, ``nab.md`` and ``sine_independent.md``);
the validation columns come from ``benchmarks/skab_validation.py`` (SKAB's anomaly-free recording with injected
anomalies, no benchmark labels).

    OMP_NUM_THREADS=1 python benchmarks/drift.py      # about 15 minutes on one CPU thread
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import logging  # noqa: E402

import skab_validation  # noqa: E402
from _common import STUDY_HEADER, machine, markdown_table, study_cells, study_row, write_results  # noqa: E402

from reconad.bench import summary_line  # noqa: E402

SETTINGS = {  # label -> the parameters that differ from the defaults
    "None": {"drift": None},
    "auto (default)": {"drift": "auto"},
    "None, min_scale=0.01": {"drift": None, "min_scale": 0.01},  # a floor instead of centring (see min_scale.py)
}


def main() -> None:
    logging.getLogger("reconad").setLevel(logging.ERROR)  # the short-training warning, once per series
    validation_cases = list(skab_validation.cases((0, 1)))
    rows = []
    for label, value in SETTINGS.items():
        row = {"drift": label, **study_row(value, validation_cases)}
        rows.append(row)
        print(summary_line(row), flush=True)
    markdown = (
        "# What `drift=\"auto\"` buys and costs\n\n"
        "`OMP_NUM_THREADS=1 python benchmarks/drift.py`: `SeriesDetector(random_state=..., drift=...)`, every other "
        "parameter at its default, label-free thresholds (mean + 4 std). *Validation*: "
        "`benchmarks/skab_validation.py`'s 64 cases (SKAB's anomaly-free recording, injected anomalies of 1-4 "
        "training standard deviations; no benchmark labels). SKAB, NAB and sine: the protocols of `skab.md` "
        "(pooled over 34 files), `nab.md` (mean over 45 series) and `sine_independent.md` (seeds 0-9); those columns "
        "read test labels.\n\n"
        + markdown_table(["drift", *STUDY_HEADER], [[r["drift"], *study_cells(r)] for r in rows])
        + "\nThe sine series do not drift (their four block means agree), so their scores are bit-identical. The "
        "validation suite injects shifts and slow drifts into any sensor, drifting ones included, and centring "
        "hides the level part of those by design: its F1 at the fixed mean + 4 std rule falls a little while its "
        "AUPRC rises and its false alarms fall by two thirds; 48% of its scored rows are anomalous, so "
        "flagging every row already scores F1 0.647 there, and AUPRC (as for the sine defaults) is the criterion "
        "`auto` was chosen by (see the README). The last row replaces centring by a floor under each feature's scale "
        "(`min_scale=0.01`): a sensor that barely moved in training can then wander without reading as many standard "
        "deviations, while its level still counts. It is not the default because the floor depends on the sensors' "
        "units (see the README).\n"
    )
    payload = {"machine": machine(), "settings": SETTINGS, "rows": rows}
    for path in write_results("drift", payload, markdown):
        print("wrote", path)


if __name__ == "__main__":
    main()

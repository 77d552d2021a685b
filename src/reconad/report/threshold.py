"""The report's threshold section: where the alarm level sits in the calibration scores, and what other levels
would give — so a user can pick an alarm budget (``reconad score --alarms N``) from the report."""

from __future__ import annotations

import numpy as np

from reconad.report.html import Section, figure_png, fmt, img, paragraph, table

BUDGETS = (0.5, 1, 2, 5, 10, 20, 50)  # false alarm events per 10,000 rows shown in the levels table


def threshold_section(calibration, scores, threshold: float, source: str) -> Section | None:
    """A histogram of the calibration and scored scores with the threshold, and a table of alarm budgets: the level
    each would set and the events and flagged rows it gives on this data. None without calibration scores."""
    from reconad.plots import plot_calibration
    from reconad.thresholds import AlarmBudget, alarm_events

    if calibration is None or len(calibration) == 0:
        return None
    calibration, scores = np.asarray(calibration, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    rows = [["this model's threshold", fmt(threshold), f"{alarm_events(scores, threshold):,}",
             f"{int(np.sum(scores > threshold)):,}"]]
    for budget in BUDGETS:
        level = float(AlarmBudget(alarms=budget).fit(calibration))
        rows.append([f"--alarms {budget:g} (per 10,000 rows)", fmt(level), f"{alarm_events(scores, level):,}",
                     f"{int(np.sum(scores > level)):,}"])
    figure = img(figure_png(plot_calibration(calibration, scores, threshold)), "calibration scores and threshold",
                 f"Scores of normal data the model did not train on ({source}) and of this data, with the "
                 "threshold.")
    text = paragraph("Alarm events are runs of consecutive flagged steps. Each budget's level is fitted on the "
                     "calibration scores alone; the counts are what it would flag here. Change the level without "
                     "retraining with reconad score --alarms N or --threshold VALUE.")
    return Section("Threshold", figure + text + table(["level", "score", "alarm events here", "flagged rows"], rows))

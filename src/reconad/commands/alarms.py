"""``reconad score --threshold ... / --alarms N --per ...``: change the alarm level of a saved model, no retraining.

A model keeps the calibration scores its threshold was fitted on, so a new rule is fitted again on them; the scores
themselves never change. A budget per minute, hour or day is turned into one per steps with the scored table's
time column (its median step).
"""

from __future__ import annotations

import argparse

from reconad.errors import InputError

PERIODS = {"minute": 60.0, "hour": 3600.0, "day": 86400.0}


def add_options(parser: argparse.ArgumentParser) -> None:
    """The alarm-level options of ``reconad score``."""
    from reconad.commands.options import THRESHOLD_NAMES

    group = parser.add_argument_group("alarm level (default: the one the model was fitted with)")
    group.add_argument("--threshold", default=None, help="a score level (a number), or a label-free rule fitted "
                       f"again on the model's calibration scores: {', '.join(THRESHOLD_NAMES)}")
    group.add_argument("--alarms", type=float, default=None, help="an alarm budget: at most this many false alarm "
                       "events (runs of flagged rows) per --per, fitted on the model's calibration scores")
    group.add_argument("--per", default="10000", help="the budget's span: a number of rows (default 10000), or "
                       "minute, hour or day (needs --time-col)")


def _per_steps(per: str, time) -> float:
    """``--per`` as a number of steps: rows as given, or a period divided by the time column's median step."""
    if per in PERIODS:
        import pandas as pd

        if time is None or not pd.api.types.is_datetime64_any_dtype(time) or len(time) < 2:
            raise InputError(f"--per {per} needs dates in the time column (--time-col) to count rows per {per}; "
                             "pass --per as a number of rows instead")
        step = float(pd.Series(time).diff().dt.total_seconds().median())  # seconds, whatever the dates' unit
        if step <= 0:
            raise InputError("the time column's median step is not positive; sort the rows by time")
        return PERIODS[per] / step
    try:
        steps = float(per)
    except ValueError:
        raise InputError(f"--per must be a number of rows or one of {', '.join(PERIODS)}, got {per!r}") from None
    if not steps >= 1:
        raise InputError(f"--per must be at least 1 row, got {per!r}")
    return steps


def apply_options(det, args: argparse.Namespace, time=None) -> None:
    """Set the detector's threshold from ``--threshold`` or ``--alarms``/``--per`` when given."""
    threshold, alarms = getattr(args, "threshold", None), getattr(args, "alarms", None)
    if threshold is not None and alarms is not None:
        raise InputError("pass either --threshold or --alarms, not both")
    if alarms is not None:
        from reconad.thresholds import AlarmBudget

        det.set_threshold(AlarmBudget(alarms=alarms, per=_per_steps(args.per, time)))
    elif threshold is not None:
        try:
            det.set_threshold(float(threshold))
        except ValueError:
            det.set_threshold(threshold)  # a rule's name; an unknown one is refused with the known names

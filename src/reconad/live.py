"""Watch a live series: rows in, confirmed alarm *events* out, and a word on when the model needs retraining.

An operator reads alarms, not scores: a run of flagged steps is one event, and it is worth a message once it has
ended (its start, end, peak score and the sensors that drove it are then known). :class:`AlarmWatcher` feeds rows
to a fitted detector's :class:`~reconad.streaming.StreamScorer` (``exact=True`` by default, so its scores are bit
for bit ``det.anomaly_score``'s and its events exactly the regions ``reconad score`` writes) and turns the final
scores into events. Its memory stays bounded however long it runs: the stream keeps a block of rows, an open event
keeps running sums, and the recent alarm rate keeps the ends of the events in its period.

:func:`alarm_rate` says when retraining is due: normal behaviour that moved (a new set-point, maintenance) shows up
as false alarms at a rate well over the budget the threshold was fitted for.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from reconad.errors import InputError
from reconad.explain import region_shares
from reconad.metrics import regions
from reconad.thresholds import AlarmBudget, alarm_events
from reconad.validation import check_int

DUE_FACTOR = 2.0  # a realised rate within about twice the budget is the spread of a well-fitted level
MIN_DUE_SHARE = 0.01  # a flagged share below 1% of the rows never makes retraining due by itself
BLOCK = 1_000  # rows per count of flagged rows kept for the rate period


@dataclass
class Update:
    """What one :meth:`AlarmWatcher.update` (or ``finish``) produced.

    ``scores`` ``(m,)`` of the steps ``first .. first + m - 1`` that became final, their 0/1 ``labels`` at the
    threshold, their ``times`` (or None), and the alarm ``events`` confirmed by them (dicts, oldest first).
    """

    first: int
    scores: np.ndarray
    labels: np.ndarray
    times: list | None
    events: list[dict] = field(default_factory=list)


def _budget(det) -> tuple[float | None, float | None]:
    """The false alarm events per step the threshold was fitted for, and the share of steps it flags, on the
    calibration scores (None when the detector cannot say)."""
    threshold, scores = det.threshold_, getattr(det, "calibration_scores_", None)
    share = None if scores is None or len(scores) == 0 else float(np.mean(scores > float(threshold)))
    if isinstance(threshold, AlarmBudget):
        return threshold.alarms / threshold.per, share
    if share is None:
        return None, None
    return max(alarm_events(scores, float(threshold)), 1) / len(scores), share  # one event at least: never zero


def alarm_rate(det, events: int, steps: int, per: float = 10_000, flagged: int | None = None) -> dict:
    """The realised alarm rate over a recent period against the detector's budget, and whether retraining is due.

    ``events`` alarm events were raised over the last ``steps`` rows (an event still open counts), ``flagged`` of
    those rows were flagged (optional). The budget is the threshold's own (an
    :class:`~reconad.thresholds.AlarmBudget`), else the rate its level raises on the calibration scores (normal data
    held out at fit time). Retraining is ``due`` when the events come at over twice the budget, or when the flagged
    share of rows exceeds twice the calibration's and at least ``MIN_DUE_SHARE``: normal behaviour that moved is
    either many false alarms or one that never ends (a level shift flags every row). Then retrain on a recent
    normal stretch (``det.partial_fit``). Rates are per ``per`` rows.
    """
    if steps <= 0:
        raise InputError(f"the alarm rate needs a period of at least one row, got {steps}")
    budget, share = _budget(det)
    report = {"events": int(events), "rows": int(steps), "per": per, "rate": events * per / steps,
              "budget": None if budget is None else budget * per, "flagged_share": None, "due": None}
    if flagged is not None:
        report["flagged_share"] = flagged / steps
    if budget is not None:
        report["due"] = bool(events / steps > DUE_FACTOR * budget)
        if flagged is not None and share is not None:
            report["due"] |= bool(flagged / steps > max(DUE_FACTOR * share, MIN_DUE_SHARE))
    return report


class AlarmWatcher:
    """Turns rows that arrive in pieces into final scores and confirmed alarm events.

    ``update(rows, times)`` feeds ``(k, D)`` rows (a DataFrame, an array) and their ``k`` times (any values, or
    None) and returns an :class:`Update`; ``finish()`` ends the series, closing an event still open at its end
    (as :func:`reconad.metrics.regions` does on a whole series). An event is a dict: ``start``, ``end``
    (half-open rows), ``length``, ``max_score``, ``start_time`` / ``end_time`` (when times are given) and, with
    several features, ``top_features``: the ``top`` features with the largest share of its error (as
    ``det.explain_regions``). ``exact=False`` scores each window as soon as it is complete (less lag, scores equal
    to batch scoring to float32 rounding only). ``rate_period`` rows back, :meth:`rate` reports the alarm rate.
    """

    def __init__(self, det, *, top: int = 3, exact: bool = True, rate_period: int = 100_000):
        self.stream = det.stream(exact=exact, explain=det.n_features_in_ > 1)
        self.det = det
        self.level = float(det.threshold_)
        check_int("top", top)
        self.top = top
        self.names = list(det.feature_names_in_ or range(det.n_features_in_))
        self.rate_period = int(rate_period)
        self.n_events = 0
        self._times: deque = deque()  # times of the rows fed and not scored yet (bounded by the stream's lag)
        self._timed: bool | None = None
        self._open: dict | None = None  # the event still running: its fields and running sums
        self._ends: deque = deque()  # end rows of the events within the rate period
        self._flags: deque = deque()  # [block, flagged rows] per BLOCK rows within the rate period

    @property
    def n_seen(self) -> int:
        """Rows fed so far."""
        return self.stream.n_seen

    @property
    def n_scored(self) -> int:
        """Rows whose final score is out so far."""
        return self.stream.n_scored

    def update(self, rows, times=None) -> Update:
        """Feed the next rows (and their times); the scores that became final and the events they confirmed."""
        timed = times is not None
        if self._timed is not None and timed != self._timed and len(rows):
            raise InputError("pass times with every update or with none")
        first = self.stream.n_scored
        scores = self.stream.update(rows)  # a refused update leaves the stream as it was, so check it first
        if len(rows):
            self._timed = timed
            if timed:
                self._times.extend(times)
        return self._close(first, scores, self.stream.contributions, end=False)

    def finish(self) -> Update:
        """The series ends: the remaining scores, and every event they confirm (one open at the end included)."""
        first = self.stream.n_scored
        scores = self.stream.finish()
        return self._close(first, scores, self.stream.contributions, end=True)

    def rate(self, per: float = 10_000) -> dict:
        """:func:`alarm_rate` over about the last ``rate_period`` scored rows (fewer at the start; counted in blocks
        of 1,000 rows), the event still open included."""
        steps = min(self.stream.n_scored, self.rate_period)
        flagged = sum(count for _, count in self._flags)
        return alarm_rate(self.det, len(self._ends) + (self._open is not None), max(steps, 1), per, flagged)

    # ---- internals ----------------------------------------------------------------------------------------------

    def _close(self, first: int, scores: np.ndarray, contributions: np.ndarray, end: bool) -> Update:
        m = len(scores)
        times = [self._times.popleft() for _ in range(m)] if self._timed else None
        labels = (scores > self.level).astype(np.int8)  # as threshold_.predict
        events = []
        if self._open is not None and (m == 0 or not labels[0]) and (m or end):
            events.append(self._confirm())  # the run ended at the previous update's last step
        for start, stop in regions(labels):
            if start > 0 or self._open is None:
                self._begin(first + start, None if times is None else times[start])
            event = self._open
            event["end"] = first + stop
            event["max_score"] = max(event["max_score"], float(scores[start:stop].max()))
            if times is not None:
                event["end_time"] = times[stop - 1]
            if self.stream.explain:
                event["sums"] += contributions[start:stop].sum(axis=0)
            if stop < m or end:
                events.append(self._confirm())
        self._count_flags(first, labels)
        self._forget_old_ends()
        return Update(first, scores, labels, times, events)

    def _begin(self, start: int, time) -> None:
        self._open = {"start": start, "end": start, "max_score": -np.inf, "sums": np.zeros(len(self.names))}
        if time is not None:
            self._open["start_time"] = time

    def _confirm(self) -> dict:
        event, self._open = self._open, None
        sums = event.pop("sums")
        out = {"start": event["start"], "end": event["end"], "length": event["end"] - event["start"],
               "max_score": event["max_score"]}
        if "start_time" in event:
            out["start_time"], out["end_time"] = event["start_time"], event["end_time"]
        if self.stream.explain:
            mean = sums / out["length"]  # (D,): the region's mean contribution, shared as det.explain_regions does
            out["top_features"] = region_shares(mean[None, :], [(0, 1)], self.names, self.top)[0]["features"]
        self.n_events += 1
        self._ends.append(out["end"])
        return out

    def _count_flags(self, first: int, labels: np.ndarray) -> None:
        blocks = (first + np.flatnonzero(labels)) // BLOCK
        for block, count in zip(*np.unique(blocks, return_counts=True)):
            if self._flags and self._flags[-1][0] == block:
                self._flags[-1][1] += int(count)
            else:
                self._flags.append([int(block), int(count)])

    def _forget_old_ends(self) -> None:
        horizon = self.stream.n_scored - self.rate_period
        while self._ends and self._ends[0] <= horizon:
            self._ends.popleft()
        while self._flags and (self._flags[0][0] + 1) * BLOCK <= horizon:
            self._flags.popleft()

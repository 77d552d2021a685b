"""Event-level and range-aware metrics for time series.

An *event* is a run of 1s in the labels (see :func:`reconad.metrics.regions`). Point-wise metrics count
steps, so one long anomaly outweighs many short ones and an alarm one step early is a miss; these metrics
count events instead, or give partial credit near them:

- :func:`event_prf` / :func:`event_f1`: an event is found when any of its steps is flagged; a run of
  flags is a true alarm when it touches an event.
- :func:`detection_delays`: how many steps into each event its first flag comes (None: missed).
- :func:`point_adjusted_f1`: the point-adjust protocol (Xu et al. 2018). It inflates results; show it
  only next to plain :func:`reconad.metrics.point_f1`.
- :func:`range_auc_pr` / :func:`vus_pr`: range-AUC-PR and VUS-PR (Paparrizos et al., VLDB 2022), threshold-
  free like AUPRC, with a soft buffer around each event and a reward for finding each event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reconad.errors import InputError
from reconad.metrics.point import PRF, check_predicted, check_scored, point_prf
from reconad.metrics.regions import regions


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class EventPRF(PRF):
    """Event precision, recall and F1, with the counts they come from."""

    events: int  # runs of 1s in y_true
    found: int  # events with at least one flagged step
    alarms: int  # runs of 1s in y_pred
    true_alarms: int  # alarm runs that overlap an event


def _hits(spans: list[tuple[int, int]], flags: np.ndarray) -> np.ndarray:
    """For each ``[start, end)`` span, whether any of its steps is flagged. (n_spans,) bool."""
    if not spans:
        return np.zeros(0, dtype=bool)
    csum = np.concatenate(([0], np.cumsum(flags, dtype=np.int64)))  # (T + 1,)
    starts, ends = np.array(spans).T
    return csum[ends] - csum[starts] > 0


def event_prf(y_true, y_pred) -> EventPRF:
    """Event-level precision, recall and F1 of 0/1 predictions.

    - recall = events with at least one flagged step / events;
    - precision = alarm runs (runs of 1s in ``y_pred``) that overlap an event / alarm runs. A false alarm
      that lasts several steps counts once, and so does a true one;
    - F1 = their harmonic mean.

    Where a ratio is undefined it is 0: recall is 0 when ``y_true`` has no event, precision is 0 when
    ``y_pred`` has no alarm, F1 is 0 when both are 0.

    Alarm runs are not weighted by length, so flagging *every* step (one run touching every event) scores
    precision = recall = 1. Report it next to point-wise metrics, which punish that.
    """
    y, p = check_predicted(y_true, y_pred)
    events, alarms = regions(y), regions(p)
    found = int(_hits(events, p).sum())
    true_alarms = int(_hits(alarms, y).sum())
    recall = found / len(events) if events else 0.0
    precision = true_alarms / len(alarms) if alarms else 0.0
    return EventPRF(precision, recall, _f1(precision, recall), len(events), found, len(alarms), true_alarms)


def event_f1(y_true, y_pred) -> float:
    """The F1 of :func:`event_prf`."""
    return event_prf(y_true, y_pred).f1


def detection_delays(y_true, y_pred) -> list[int | None]:
    """For each event (run of 1s in ``y_true``), in order: steps from its first step to its first flagged step.

    0 when the event's first step is flagged, ``None`` when none of its steps is (a missed event). A flag
    before the event does not count: an alarm that starts early and runs into the event has delay 0. How soon
    a fault is flagged matters to an operator as much as how many of its steps are, and point-wise recall
    does not tell them apart: a late first flag and scattered misses inside the event cost the same.
    """
    y, p = check_predicted(y_true, y_pred)
    delays: list[int | None] = []
    for start, end in regions(y):
        flagged = np.flatnonzero(p[start:end])
        delays.append(int(flagged[0]) if len(flagged) else None)
    return delays


def point_adjust(y_true, y_pred) -> np.ndarray:
    """Point-adjusted predictions: every step of an event with at least one flagged step is flagged."""
    y, p = check_predicted(y_true, y_pred)
    adjusted = p.copy()
    events = regions(y)
    for (start, end), hit in zip(events, _hits(events, p)):
        if hit:
            adjusted[start:end] = 1
    return adjusted


def point_adjusted_f1(y_true, y_pred) -> float:
    """Point F1 after the point-adjust protocol (Xu et al., WWW 2018): one flagged step credits its whole event.

    This INFLATES results: one lucky flag inside a long event makes the whole event a true positive, and
    random scores can reach a high point-adjusted F1 (Kim et al., AAAI 2022). Report it only next to plain
    :func:`reconad.metrics.point_f1` (and preferably :func:`event_f1` or :func:`vus_pr`), never alone.
    """
    return point_prf(y_true, point_adjust(y_true, y_pred)).f1


# ---------------------------------------------------------------------------------------------------------
# Range-AUC-PR and VUS-PR (Paparrizos, Boniol, Palpanas, Tsay, Elmore, Franklin, "Volume Under the Surface: A
# New Accuracy Evaluation Measure for Time-Series Anomaly Detection", PVLDB 15(11), 2022), as the authors'
# reference implementation computes them (TheDatumOrg/VUS vus/utils/metrics.py RangeAUC_volume_opt, the same
# in TSB-AD). Written here from that definition, vectorised over thresholds; checked against a line-by-line
# transcription of that function (tests/test_events.py). Libraries that port the authors' older per-buffer
# code (aeon, TimeEval: trapezoidal area, every soft label counted in P_l) give slightly different numbers.

N_THRESHOLDS = 250  # the authors' number of thresholds, sampled evenly over the sorted scores


def _threshold_entry(score: np.ndarray) -> np.ndarray:
    """For each step, the first of the ``N_THRESHOLDS`` thresholds that flags it. (T,) int in [0, N_THRESHOLDS).

    Threshold ``j`` is the score at rank ``linspace(0, T - 1, N_THRESHOLDS)[j]`` (descending, truncated to an
    integer) and flags ``score >= threshold``; thresholds only fall, so a step flagged by ``j`` stays flagged.
    """
    descending = np.sort(score)[::-1]
    thresholds = descending[np.linspace(0, score.size - 1, N_THRESHOLDS).astype(int)]  # (J,) non-increasing
    # the number of thresholds strictly above each score
    return np.searchsorted(-thresholds, -score, side="left")


def _cumcount(entry: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Per threshold ``j``, the (weighted) number of steps flagged by ``j``. (J,)"""
    return np.cumsum(np.bincount(entry, weights=weights, minlength=N_THRESHOLDS).astype(np.float64))


def _buffer(starts: np.ndarray, lasts: np.ndarray, length: int, buffer: int) -> tuple[np.ndarray, np.ndarray]:
    """Steps in the soft buffer around the events and their label weights (steps inside events excluded).

    ``buffer // 2`` steps on each side of an event (inclusive ``[start, last]``) get ``sqrt(1 - d / buffer)``
    at distance ``d``; where buffers overlap the weights add up, capped at 1. Buffers stop at the series ends.
    """
    half = buffer // 2
    if half == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    d = np.arange(1, half + 1)  # (h,)
    weight = np.sqrt(1.0 - d / buffer)
    steps = np.concatenate([(starts[:, None] - d).ravel(), (lasts[:, None] + d).ravel()])
    weights = np.tile(np.repeat(weight[None, :], starts.size, axis=0).ravel(), 2)
    inside = (steps >= 0) & (steps < length)
    steps, inverse = np.unique(steps[inside], return_inverse=True)
    weights = np.minimum(np.bincount(inverse, weights=weights[inside]), 1.0)
    return steps, weights


def _range_ap(y: np.ndarray, entry: np.ndarray, buffer: int, spans: list[tuple[int, int]]) -> float:
    """Range-AUC-PR of one buffer length, given each step's threshold entry."""
    starts, ends = np.array(spans).T
    lasts = ends - 1
    n_events_steps = float(y.sum())

    flagged = _cumcount(entry)  # (J,) steps flagged
    event_hits = _cumcount(entry[y == 1])  # (J,) event steps flagged
    steps, weights = _buffer(starts, lasts, y.size, buffer)
    keep = y[steps] == 0
    buffer_hits = _cumcount(entry[steps[keep]], weights[keep])  # (J,) buffer weight flagged

    # existence: events whose extended ranges overlap are one range; a range exists when any step in it is flagged
    half = buffer // 2
    masked = np.where(y == 1, entry, N_THRESHOLDS)
    first = np.minimum.reduceat(masked, starts)  # (E,) earliest threshold flagging each event
    if half:  # and its buffer on either side
        near = np.concatenate([starts[:, None] - np.arange(1, half + 1), lasts[:, None] + np.arange(1, half + 1)], 1)
        inside = (near >= 0) & (near < y.size)  # (E, 2h)
        near_first = np.where(inside, entry[np.clip(near, 0, y.size - 1)], N_THRESHOLDS).min(axis=1)
        first = np.minimum(first, near_first)
    separate = lasts[:-1] + half < starts[1:] - half  # (E - 1,) is event i apart from event i + 1
    group_starts = np.concatenate(([0], np.flatnonzero(separate) + 1))
    group_first = np.minimum.reduceat(first, group_starts)  # (G,)
    existence = _cumcount(group_first[group_first < N_THRESHOLDS]) / group_starts.size  # (J,)

    true_positive = event_hits + buffer_hits  # (J,)
    positive = n_events_steps + buffer_hits / 2  # the authors' P_new = (P + (P + flagged buffer weight)) / 2
    recall = np.minimum(true_positive / positive, 1.0) * existence  # (J,) range recall (the TPR)
    precision = true_positive / flagged  # every threshold flags at least one step
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def _check_buffer(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InputError(f"{name} must be a whole number of steps >= 0, got {value!r}")
    return int(value)


def range_auc_pr(y_true, score, buffer: int) -> float:
    """Range-AUC-PR (Paparrizos et al., VLDB 2022) with a soft buffer of ``buffer`` steps around each event.

    Labels are extended by ``buffer // 2`` steps on each side of every event with weight ``sqrt(1 - d / buffer)``
    at distance ``d``. For each of 250 thresholds (evenly spaced ranks of the sorted scores; ``score >=
    threshold`` flags a step):

    - TP = flagged event steps + flagged buffer weight; range precision = TP / flagged steps;
    - range recall = min(TP / P_l, 1) * existence, where P_l = event steps + flagged buffer weight / 2 and
      existence = the share of events (those whose buffers overlap merged into one) with a flagged step.

    The area is ``sum_j (recall_j - recall_{j-1}) * precision_j`` from recall 0. ``buffer=0`` gives a range
    version of AUPRC in which missing a whole event costs more than missing steps of a found one.
    NaN when ``y_true`` has no event (like :func:`reconad.metrics.auprc`).
    """
    y, s = check_scored(y_true, score, "score")
    buffer = _check_buffer("buffer", buffer)
    spans = regions(y)
    if not spans:
        return float("nan")
    return _range_ap(y, _threshold_entry(s), buffer, spans)


def default_max_buffer(y_true) -> int:
    """VUS's maximum buffer when none is given: twice the median event length (the authors' recipe)."""
    lengths = [end - start for start, end in regions(np.asarray(y_true).ravel())]
    return int(2 * np.median(lengths)) if lengths else 0


def vus_pr(y_true, score, max_buffer: int | None = None) -> float:
    """VUS-PR: the volume under the range-PR surface (Paparrizos et al., VLDB 2022).

    The mean of :func:`range_auc_pr` over every buffer length ``0, 1, ..., max_buffer``, so no single buffer
    has to be chosen and a detector is not punished for alarms slightly before or after an event. By default
    ``max_buffer`` is twice the median event length (the authors set the buffer to about one anomaly length
    and average up to twice it). Invariant to strictly increasing transforms of the score; in [0, 1]; 1 for a
    score that ranks exactly the event steps first. NaN when ``y_true`` has no event.
    """
    y, s = check_scored(y_true, score, "score")
    max_buffer = default_max_buffer(y) if max_buffer is None else _check_buffer("max_buffer", max_buffer)
    spans = regions(y)
    if not spans:
        return float("nan")
    entry = _threshold_entry(s)
    return float(np.mean([_range_ap(y, entry, buffer, spans) for buffer in range(max_buffer + 1)]))

"""Point-wise confusion counts, the rates read off them, and the label-using *oracle* counts at a false-alarm rate.

Counts are dicts ``{"tp", "fp", "fn", "tn"}`` so that several files' counts add up (SKAB's leaderboard pools its
files this way). Functions named ``oracle_*`` read the test labels to pick a threshold: they are ceilings to report
next to a label-free result, never a result.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reconad.errors import InputError
from reconad.metrics.point import check_predicted, check_scored

ORACLE_FAR = 0.10  # SKAB's target false-alarm rate: the oracle columns ask what F1 the scores allow at it


def confusion(labels, predicted) -> dict:
    """Point-wise counts ``{"tp", "fp", "fn", "tn"}`` of 0/1 predictions; several files' counts add up."""
    labels, predicted = (a.astype(bool) for a in check_predicted(labels, predicted))
    return {
        "tp": int((labels & predicted).sum()),
        "fp": int((~labels & predicted).sum()),
        "fn": int((labels & ~predicted).sum()),
        "tn": int((~labels & ~predicted).sum()),
    }


def rates(c: dict) -> dict:
    """Precision, recall, F1, FAR (false alarms / normal rows) and MAR (misses / anomalous rows) of counts ``c``."""
    precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
    recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    far = c["fp"] / (c["fp"] + c["tn"]) if c["fp"] + c["tn"] else 0.0
    mar = c["fn"] / (c["fn"] + c["tp"]) if c["fn"] + c["tp"] else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "far": far, "mar": mar}


def pooled_counts(counts: Sequence[dict]) -> dict:
    """The sum of several files' counts."""
    return {k: sum(c[k] for c in counts) for k in ("tp", "fp", "fn", "tn")}


def oracle_confusion_at_far(labels, scores, far: float = ORACLE_FAR) -> dict:
    """Confusion counts at the lowest threshold that flags at most ``far`` of the normal rows.

    The threshold is read off the normal rows' scores, so it uses the labels: an *oracle*, the best recall a
    threshold can buy at that false-alarm rate, not something a detector can do.
    """
    labels, scores = check_scored(labels, scores)
    labels = labels.astype(bool)
    normal = np.sort(scores[~labels])
    allowed = int(np.floor(far * len(normal)))  # normal rows that may be flagged
    if allowed >= len(normal):  # every normal row may be flagged (or there is none): flag everything
        return confusion(labels, np.ones(len(labels), dtype=bool))
    threshold = normal[len(normal) - allowed - 1]  # scores strictly above it: at most `allowed` normal rows
    return confusion(labels, scores > threshold)


def _best_tp_within(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``best[f]``: the most anomalous rows any one threshold flags while flagging at most ``f`` normal rows.

    Thresholds flag ``scores > t``, so tied scores are flagged together; ``f`` runs from 0 to the normal rows.
    """
    values, groups = np.unique(-scores, return_inverse=True)  # highest score first; equal scores share a group
    tp = np.concatenate([[0], np.cumsum(np.bincount(groups, weights=labels, minlength=len(values)))])
    fp = np.concatenate([[0], np.cumsum(np.bincount(groups, weights=~labels, minlength=len(values)))])
    best = np.full(int((~labels).sum()) + 1, -1, dtype=np.int64)
    np.maximum.at(best, fp.astype(np.int64), tp.astype(np.int64))  # each threshold's counts, flagging down to it
    return np.maximum.accumulate(best)  # at most f false alarms: the best of every threshold with fewer


def oracle_confusion_pooled_far(labels: Sequence, scores: Sequence, far: float = ORACLE_FAR) -> dict:
    """Pooled counts of the best-F1 choice of one threshold *per file* with at most ``far`` false alarms pooled.

    ``labels`` and ``scores`` hold one array per file. Unlike :func:`oracle_confusion_at_far`, which holds every
    file to ``far`` of its own normal rows, the false alarms may be spent where they buy the most recall (none in
    one file, a third of another), as long as the pooled false-alarm rate stays at or under ``far``: the ceiling
    of *every* per-file threshold rule at that rate, which no label-free rule can exceed. It reads the labels, so
    it is an *oracle*. A dynamic programme over the pooled false-alarm budget (a multiple-choice knapsack): the
    most anomalous rows flagged with at most ``b`` false alarms, file by file, then the best F1 over ``b``.
    """
    if len(labels) != len(scores):
        raise InputError(f"labels hold {len(labels)} files but scores {len(scores)}; pass one array per file in each")
    checked = [check_scored(y, s) for y, s in zip(labels, scores)]
    labels, scores = [y.astype(bool) for y, _ in checked], [s for _, s in checked]
    normals = sum(int((~y).sum()) for y in labels)
    positives = sum(int(y.sum()) for y in labels)
    budget = int(np.floor(far * normals))  # pooled false alarms allowed
    most = np.zeros(budget + 1, dtype=np.int64)  # most[b]: anomalous rows flagged with at most b false alarms
    for y, s in zip(labels, scores):
        best = _best_tp_within(y, s)[: budget + 1]  # (min(normals of the file, budget) + 1,)
        stacked = np.full((len(best), budget + 1), -1, dtype=np.int64)  # spend f in this file, b - f before it
        for f in range(len(best)):
            stacked[f, f:] = most[: budget + 1 - f] + best[f]
        most = stacked.max(axis=0)
    spent = np.arange(budget + 1)
    f1 = 2 * most / np.maximum(positives + most + spent, 1)  # 2 tp / (2 tp + fp + fn), 0 when nothing is found
    b = int(np.argmax(f1))  # the smallest budget at the best F1 spends all of it: its false alarms are exactly b
    tp = int(most[b])
    return {"tp": tp, "fp": b, "fn": positives - tp, "tn": normals - b}

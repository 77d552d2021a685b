"""Calibration scores that represent unseen normal data: out-of-fold scores over the whole training series.

A threshold is fitted on scores of normal data the model did not train on. Holding out one stretch (the last fifth)
makes the alarm level depend on whether that stretch happened to be quiet. Cross-fitting removes the accident: the
training series is cut into ``K`` contiguous blocks, a model trained on the other blocks scores each block, and the
threshold sees every block. The detector's own model then trains on all of the data. It costs ``K`` extra fits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from reconad.data.windows import window_starts


def fold_blocks(n_steps: int, split: float) -> list[tuple[int, int]]:
    """``K = max(2, round(1 / split))`` contiguous blocks ``[start, stop)`` covering ``n_steps`` steps."""
    k = max(2, int(round(1.0 / split)))
    edges = np.linspace(0, n_steps, k + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def without_block(x: np.ndarray, block: tuple[int, int], window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows outside ``block``, joined, and the starts of training windows that never straddle the gap."""
    start, stop = block
    parts = [part for part in (x[:start], x[stop:]) if len(part) >= window]
    starts, offset = [], 0
    for part in parts:
        starts.append(window_starts(len(part), window, stride) + offset)
        offset += len(part)
    return np.concatenate(parts), np.concatenate(starts)


def out_of_fold_scores(x: np.ndarray, blocks: list[tuple[int, int]], window: int, stride: int,
                       train: Callable[[int, np.ndarray, np.ndarray], object],
                       score: Callable[[object, np.ndarray], np.ndarray]) -> np.ndarray:
    """Scores ``(T,)`` of scaled rows ``x`` where each block is scored by a model that never saw it.

    ``train(fold, rows, starts)`` returns a model trained on the windows of ``rows`` at ``starts``;
    ``score(model, rows)`` returns one score per row of a block.
    """
    out = []
    for fold, block in enumerate(blocks):
        rows, starts = without_block(x, block, window, stride)
        out.append(score(train(fold, rows, starts), x[block[0] : block[1]]))
    return np.concatenate(out)

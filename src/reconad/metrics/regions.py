"""Contiguous runs of anomalous steps."""

from __future__ import annotations

import numpy as np

from reconad.errors import InputError


def regions(labels) -> list[tuple[int, int]]:
    """Half-open ``[start, end)`` runs of 1s in a 0/1 sequence, in order.

    A run that starts at step 0 or ends at the last step is included, and so is a run of one step
    (the course notebook's version mislabels the first and drops the second).
    """
    y = np.asarray(labels)
    if y.ndim != 1:
        raise InputError(f"labels must be one-dimensional, got shape {y.shape}")
    flags = np.concatenate(([0], (y != 0).astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(flags))  # rising edges at even positions, falling at odd
    return [(int(s), int(e)) for s, e in zip(edges[::2], edges[1::2])]


def regions_to_labels(spans, length: int) -> np.ndarray:
    """The inverse of :func:`regions`: a 0/1 array of ``length`` with 1 inside every ``[start, end)``."""
    y = np.zeros(length, dtype=np.int8)
    for start, end in spans:
        y[start:end] = 1
    return y

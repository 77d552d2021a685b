"""Which features drove an anomaly: per-region shares of the per-feature reconstruction error.

:meth:`reconad.SeriesDetector.explain` gives each feature's contribution to each step's score ``(T, D)``;
:func:`region_shares` turns those contributions into a ranked list of features per anomalous region, which is what
an operator reads ("the pressure sensor drove rows 572-590"). The command line, the service and the report all use
it, so they name the same sensors.
"""

from __future__ import annotations

import operator

import numpy as np

from reconad.errors import InputError
from reconad.validation import check_int


def row_range(region, rows: int) -> tuple[int, int]:
    """A half-open ``(start, end)`` row range inside ``rows`` rows, as two ints, or an InputError naming the fix."""
    try:
        start, end = (operator.index(v) for v in region)
    except (TypeError, ValueError):
        start = end = None
    if start is None or not 0 <= start < end <= rows:
        raise InputError(f"region {region!r} is not a half-open row range inside the {rows} rows; pass "
                         "(start, end) with 0 <= start < end <= rows")
    return start, end


def region_shares(contributions: np.ndarray, regions, names: list, top: int = 3) -> list[dict]:
    """The ``top`` features of each region, largest share of its mean contribution first.

    ``contributions`` is ``(T, D)`` (``det.explain(X)``); ``regions`` are half-open ``(start, end)`` row ranges;
    ``names`` labels the ``D`` columns. Each region gets ``{"start", "end", "features": [{"feature", "share"}]}``,
    where a feature's share is its mean contribution over the region's rows divided by the sum over all features
    (all shares add up to 1; an all-zero region shares equally).
    """
    check_int("top", top)
    out = []
    for region in regions:
        start, end = row_range(region, len(contributions))
        mean = contributions[start:end].mean(axis=0)  # (D,)
        total = float(mean.sum())
        share = mean / total if total > 0 else np.full(len(mean), 1.0 / len(mean))
        order = np.argsort(-share, kind="stable")[:top]
        out.append({"start": start, "end": end,
                    "features": [{"feature": names[j], "share": float(share[j])} for j in order]})
    return out

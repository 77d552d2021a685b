"""Features whose level drifts in the training data, and the mask a series detector centres.

A temperature that creeps up all day is still normal tomorrow at a level it never reached in training. A series
detector with ``drift="auto"`` shows the model such features centred on each window's own mean
(:class:`~reconad.models.centred.LevelFree`), so a level that wandered on is not an alarm while the feature's
movements within a window still are.
"""

from __future__ import annotations

import numpy as np

from reconad.errors import InputError

DRIFT_BLOCKS = 4  # the training part is cut into this many blocks whose mean levels are compared
DRIFT_RATIO = 0.5  # a feature drifts when its block means spread over half its standard deviation or more
DRIFT_MIN_BLOCK = 25  # rows per block below which noise alone moves the block means too much to tell drift


def drifting_features(x: np.ndarray) -> np.ndarray:
    """Which features of a training series ``(T, D)`` drift: a boolean mask ``(D,)``.

    The series is cut into ``DRIFT_BLOCKS`` equal blocks. A feature drifts when the standard deviation of its block
    means is at least ``DRIFT_RATIO`` times its overall standard deviation: a quarter or more of its variance is slow
    change of level *between* blocks. Noise and anything that oscillates faster than a block average out (white
    noise gives about ``1 / sqrt(block rows)``, a sine of a few periods per block about 0); a trend or a slow wander
    does not (a straight ramp gives 0.97). With fewer than ``DRIFT_MIN_BLOCK`` rows per block nothing drifts.
    """
    x = np.asarray(x, dtype=np.float64)
    rows = len(x) // DRIFT_BLOCKS
    if rows < DRIFT_MIN_BLOCK:
        return np.zeros(x.shape[1], dtype=bool)
    blocks = x[: rows * DRIFT_BLOCKS].reshape(DRIFT_BLOCKS, rows, x.shape[1]).mean(axis=1)  # (blocks, D)
    spread = x.std(axis=0)  # (D,)
    return (spread > 0) & (blocks.std(axis=0) >= DRIFT_RATIO * spread)


def check_drift_spec(drift) -> None:
    """``drift`` is ``"auto"``, ``None`` or a list of feature names or column indices."""
    listed = isinstance(drift, (list, tuple)) and all(
        isinstance(f, str) or (isinstance(f, (int, np.integer)) and not isinstance(f, bool)) for f in drift)
    if not (listed or drift is None or (isinstance(drift, str) and drift == "auto")):
        raise InputError(f"drift must be 'auto', None or a list of feature names or column indices, got {drift!r}")


def drift_mask(drift, train: np.ndarray, names: list[str] | None) -> np.ndarray:
    """The ``(D,)`` mask of features to centre: found in ``train`` for ``"auto"``, else the ones ``drift`` names."""
    if isinstance(drift, str):
        return drifting_features(train)
    mask = np.zeros(train.shape[1], dtype=bool)
    for feature in drift or ():
        if isinstance(feature, str):
            if names is None or feature not in names:
                known = f"its columns are {names}" if names else "it has no column names (pass a DataFrame)"
                raise InputError(f"drift names feature {feature!r}, which the training data lacks; {known}")
            mask[names.index(feature)] = True
        elif not 0 <= feature < train.shape[1]:
            raise InputError(f"drift names column {feature}, but the training data has {train.shape[1]} features "
                             f"(0 to {train.shape[1] - 1})")
        else:
            mask[int(feature)] = True
    return mask

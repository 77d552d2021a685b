"""Out-of-fold calibration: scores of normal data from models that did not train on it, over the whole training log.

Why: the label-free threshold is fitted on scores of normal data the model did not see. Holding out only the last
fifth of the training log makes the alarm level depend on that one stretch: if it happens to be quiet, everything
after it alarms. :func:`out_of_fold_scores` scores both halves of the log, each with a model trained on the other
half, so that the threshold sees the whole log. It costs two extra fits on half the data each (measured on 1,000-row
logs: 2.2 times the fit's own time, as a short half is cut with a finer stride); ``det.calibrate(X,
out_of_fold=True)`` and ``reconad fit --calibration folds`` use it.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from reconad.errors import InputError


def out_of_fold_scores(detector, X) -> np.ndarray:
    """The scores ``(T,)`` of both halves of ``X`` (``(T,)``, ``(T, D)`` or a DataFrame), each from a clone of the
    fitted ``detector`` fitted on the other half.

    The clones keep every parameter but fit on a whole half (``calibration_split=0``) with the fitted window
    ``window_`` and no progress bars. The second half's scores come first (scored by the first half's model), then
    the first half's. Refuses a series whose halves are shorter than two windows.
    """
    half = len(X) // 2
    window = detector.window_
    if half < 2 * window:
        raise InputError(f"out-of-fold calibration needs two windows of {window} steps in each half of the series; "
                         f"it has {len(X)} steps, so pass at least {4 * window}")
    first, second = (X.iloc[:half], X.iloc[half:]) if hasattr(X, "iloc") else (X[:half], X[half:])
    scores = []
    for fit_on, score_on in ((first, second), (second, first)):
        fold = clone(detector).set_params(calibration_split=0, window=window, verbose=False)
        scores.append(fold.fit(fit_on).anomaly_score(score_on))  # (len(score_on),)
    return np.concatenate(scores)


def calibrated_state(detector, X, out_of_fold: bool) -> dict:
    """The fitted attributes of ``detector.calibrate(X, out_of_fold=...)``: the pooled calibration scores (the kept
    ones, then those of ``X``), the threshold refitted on them, and the source saying so."""
    scores = out_of_fold_scores(detector, X) if out_of_fold else detector.anomaly_score(X)
    kept = [] if detector.calibration_scores_ is None else [detector.calibration_scores_]
    pooled = np.concatenate([*kept, scores])
    what = "out-of-fold scores of" if out_of_fold else "scores of held-out normal data,"
    return {"threshold_": detector.new_threshold().fit(pooled), "calibration_scores_": pooled,
            "threshold_source_": f"{detector.threshold_source_} and {what} {len(scores)} steps"}

"""Classical baselines for series benchmarks: IsolationForest or PCA on standardised windows of the series.

:class:`WindowBaseline` follows the scikit-learn estimator contract and the detectors' scoring contract, so a
benchmark can put it next to :class:`reconad.SeriesDetector` on the same split: ``fit`` on normal data (the last
``calibration_split`` held out for the label-free threshold), ``anomaly_score`` gives one score per step (higher
is more anomalous), ``predict`` 0/1. A univariate point has no shape, so both models see lagged windows.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from reconad.data.windows import fold_windows, sliding_windows
from reconad.errors import InputError
from reconad.thresholds import MeanStd, Threshold, make_threshold

KINDS = ("iforest", "pca")


class WindowBaseline(BaseEstimator):
    """IsolationForest or PCA reconstruction on standardised windows, scored per step like reconad.

    Parameters
    ----------
    kind : "iforest" or "pca"
        ``"iforest"``: a window's score is ``-score_samples`` of scikit-learn's IsolationForest (its defaults).
        ``"pca"``: the mean squared reconstruction error from the components keeping 95% of the variance.
    window : int
        Steps per window; shrunk to a quarter of the training rows (at least 2) and to the calibration tail
        when the training data is short.
    calibration_split : float in [0, 1)
        Fraction at the end of the training data held out to fit the threshold on unseen normal scores
        (0: the training scores themselves).
    threshold : Threshold, threshold name or None
        The label-free rule fitted on the calibration scores (a copy is fitted); None is mean + 4 standard
        deviations, :class:`reconad.SeriesDetector`'s default.
    random_state : int
        Seed of the IsolationForest (PCA's full SVD is deterministic).

    A step's score is the mean of the scores of the windows covering it.
    """

    def __init__(self, kind: str = "iforest", *, window: int = 16, calibration_split: float = 0.2,
                 threshold: Threshold | str | None = None, random_state: int = 0):
        self.kind = kind
        self.window = window
        self.calibration_split = calibration_split
        self.threshold = threshold
        self.random_state = random_state

    def _check_params(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"unknown baseline kind {self.kind!r}; choose from {', '.join(KINDS)}")
        if not (isinstance(self.window, (int, np.integer)) and self.window >= 2):
            raise InputError(f"window must be an integer >= 2, got {self.window!r}")
        if not (0 <= self.calibration_split < 1):
            raise InputError(f"calibration_split must be in [0, 1), got {self.calibration_split!r}")

    @staticmethod
    def _as_rows(x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        x = x.reshape(len(x), -1)  # (T,) or (T, D) -> (T, D)
        if not np.isfinite(x).all():
            raise InputError("the series holds NaN or infinite values; fill or drop them first")
        return x

    def fit(self, X, y=None) -> WindowBaseline:
        """Fit the scaler and the model on normal data, then the threshold on the held-out tail's scores."""
        self._check_params()
        x = self._as_rows(X)
        n_cal = int(round(len(x) * self.calibration_split))
        train, cal = x[: len(x) - n_cal], x[len(x) - n_cal :]
        window = max(2, min(self.window, len(train) // 4))
        if n_cal:
            window = min(window, max(2, n_cal))
        if len(train) < window or (n_cal and len(cal) < window):
            raise InputError(f"{len(x)} rows are too few for windows of {window} steps; give more training data")
        self.window_ = window
        self.n_features_in_ = x.shape[1]
        self.scaler_ = StandardScaler().fit(train)
        flat = self._flat(self.scaler_.transform(train))
        if self.kind == "iforest":
            self.model_ = IsolationForest(random_state=self.random_state).fit(flat)
        else:
            self.model_ = PCA(n_components=0.95, svd_solver="full", random_state=self.random_state).fit(flat)
        rule = MeanStd(k=4.0) if self.threshold is None else make_threshold(self.threshold)
        self.threshold_ = rule.fit(self.anomaly_score(cal if n_cal else train))
        return self

    def _flat(self, x: np.ndarray) -> np.ndarray:
        return sliding_windows(x, self.window_).reshape(-1, self.window_ * x.shape[1])  # (N, W * D)

    def _window_scores(self, flat: np.ndarray) -> np.ndarray:
        if self.kind == "iforest":
            return -self.model_.score_samples(flat)
        recon = self.model_.inverse_transform(self.model_.transform(flat))
        return ((recon - flat) ** 2).mean(axis=1)

    def anomaly_score(self, X) -> np.ndarray:
        """One score per step, ``(T,)``; higher is more anomalous."""
        check_is_fitted(self, "model_")
        x = self._as_rows(X)
        if x.shape[1] != self.n_features_in_:
            raise InputError(f"the series has {x.shape[1]} features; the baseline was fitted on "
                             f"{self.n_features_in_}")
        if len(x) < self.window_:
            raise InputError(f"{len(x)} rows are shorter than one window of {self.window_} steps")
        per_window = self._window_scores(self._flat(self.scaler_.transform(x)))  # (N,)
        values = np.repeat(per_window[:, None], self.window_, axis=1)  # (N, W)
        return fold_windows(values, np.arange(len(per_window)), len(x))

    def predict(self, X) -> np.ndarray:
        """0/1 per step: the scores above the fitted threshold."""
        check_is_fitted(self, "threshold_")
        return self.threshold_.predict(self.anomaly_score(X))

"""WindowBaseline: the scikit-learn contract, per-step scores, the threshold on held-out scores, clear errors."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from reconad.baselines import WindowBaseline
from reconad.errors import InputError
from reconad.thresholds import MeanStd, Quantile


def _series(n=600, d=2, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    return np.sin(t / 10.0 + np.arange(d)) + 0.05 * rng.normal(size=(n, d))


@pytest.mark.parametrize("kind", ["iforest", "pca"])
def test_scores_one_per_step_and_flag_an_injected_fault(kind):
    x = _series()
    base = WindowBaseline(kind, window=16).fit(x[:400])
    assert base.window_ == 16 and base.n_features_in_ == 2
    test = x.copy()
    test[500:520] += 3.0
    scores = base.anomaly_score(test)
    assert scores.shape == (600,) and np.isfinite(scores).all()
    assert scores[500:520].mean() > scores[:400].max()  # the fault scores above every training step
    flags = base.predict(test)
    assert set(np.unique(flags)) <= {0, 1} and flags[500:520].any()
    assert flags[:400].mean() < 0.1


def test_the_threshold_is_fitted_on_the_held_out_tail_and_the_parameter_is_left_unfitted():
    x = _series()
    rule = Quantile(q=0.9)
    base = WindowBaseline("pca", calibration_split=0.25, threshold=rule).fit(x[:400])
    tail = base.anomaly_score(x[300:400])
    assert float(base.threshold_.value_) == pytest.approx(float(np.quantile(tail, 0.9)))
    assert rule.value_ is None and base.threshold_ is not rule  # a copy is fitted
    assert isinstance(WindowBaseline("pca").fit(x[:400]).threshold_, MeanStd)  # None: mean + 4 std
    assert WindowBaseline("pca").fit(x[:400]).threshold_.k == 4.0


def test_same_seed_same_scores_and_sklearn_params():
    x = _series()
    a = WindowBaseline("iforest", random_state=3).fit(x[:400]).anomaly_score(x)
    b = clone(WindowBaseline("iforest", random_state=3)).fit(x[:400]).anomaly_score(x)
    np.testing.assert_array_equal(a, b)
    assert WindowBaseline("pca", window=8).get_params()["window"] == 8


def test_short_training_data_shrinks_the_window():
    base = WindowBaseline("pca", window=16).fit(_series(40))
    assert base.window_ == 8  # a quarter of the 32 training rows (the 8-row calibration tail holds one window)
    assert WindowBaseline("pca", window=16, calibration_split=0.1).fit(_series(40)).window_ == 4  # 4-row tail
    assert base.anomaly_score(_series(40)).shape == (40,)


def test_errors_are_clear():
    x = _series()
    with pytest.raises(InputError, match="unknown baseline kind"):
        WindowBaseline("lof").fit(x)
    with pytest.raises(NotFittedError):
        WindowBaseline("pca").anomaly_score(x)
    base = WindowBaseline("pca").fit(x[:400])
    with pytest.raises(InputError, match="features"):
        base.anomaly_score(x[:, :1])
    bad = x.copy()
    bad[3, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        base.anomaly_score(bad)

"""The period finder (TSB-AD's grading window, window="auto") and VUS-PR graded as TSB-AD grades."""

import numpy as np
import pytest

from reconad.bench.sensors import tsb_vus_pr
from reconad.errors import InputError
from reconad.metrics import vus_pr
from reconad.periods import auto_window, autocorrelation, dominant_period, tsb_sliding_window


def test_autocorrelation_equals_the_direct_sum():
    x = np.random.default_rng(0).standard_normal(257)
    centred = x - x.mean()
    direct = np.array([centred[: len(x) - k] @ centred[k:] for k in range(31)]) / (centred @ centred)
    np.testing.assert_allclose(autocorrelation(x, 30), direct, atol=1e-12)


@pytest.mark.parametrize("period", [7, 24, 50, 288])
def test_a_noisy_sine_has_its_period(period):
    t = np.arange(6000)
    x = np.sin(2 * np.pi * t / period) + 0.05 * np.random.default_rng(period).standard_normal(len(t))
    assert dominant_period(x) == period
    assert tsb_sliding_window(x) == period


def test_no_period_falls_back():
    assert dominant_period(np.ones(500)) is None  # constant: no autocorrelation at all
    assert tsb_sliding_window(np.ones(500)) == 125
    assert auto_window(np.ones(500)) == 100
    t = np.arange(5000)
    slow = np.sin(2 * np.pi * t / 700)  # its period is past the 303-step bound
    assert dominant_period(slow) is None and tsb_sliding_window(slow) == 125


def test_auto_window_is_three_cycles_within_16_to_400_steps():
    t = np.arange(3000)
    assert dominant_period(np.sin(2 * np.pi * t / 5)) is None  # below the 6-step bound: the fallback
    assert auto_window(np.sin(2 * np.pi * t / 5)) == 100
    assert dominant_period(np.sin(2 * np.pi * t / 6)) == 6
    assert auto_window(np.sin(2 * np.pi * t / 6)) == 18
    assert auto_window(np.sin(2 * np.pi * t / 40)) == 120
    assert dominant_period(np.sin(2 * np.pi * t / 150)) == 150
    assert auto_window(np.sin(2 * np.pi * t / 150)) == 400


def test_several_features_share_a_period_and_grading_reads_the_first():
    t = np.arange(4000)
    rng = np.random.default_rng(1)
    x = np.stack([np.sin(2 * np.pi * t / 30), np.sin(2 * np.pi * t / 30 + 1), np.full(len(t), 3.0)], axis=1)
    assert dominant_period(x) == 30  # a constant column has no autocorrelation and is left out
    with_noise = np.column_stack([x, rng.standard_normal(len(t))])
    # a noise column's autocorrelation wobbles the peaks' heights: the finder still lands on a whole cycle
    assert dominant_period(with_noise) % 30 == 0
    y = np.stack([np.sin(2 * np.pi * t / 60), np.sin(2 * np.pi * t / 30)], axis=1)
    assert tsb_sliding_window(y) == 60


def test_bad_series_is_one_input_error():
    with pytest.raises(InputError, match="finite"):
        dominant_period(np.array([1.0, np.nan, 2.0] * 10))


def test_tsb_vus_pr_min_max_scales_and_uses_the_sliding_window_as_buffer():
    labels = np.zeros(200, int)
    labels[100:110] = 1
    scores = np.random.default_rng(2).random(200) * 5 + 10
    expected = vus_pr(labels, (scores - scores.min()) / (scores.max() - scores.min()), max_buffer=40)
    assert tsb_vus_pr(labels, scores, 40) == pytest.approx(expected)
    assert tsb_vus_pr(labels, scores, 40) != pytest.approx(vus_pr(labels, scores, max_buffer=0))
    perfect = labels * 1.0
    assert tsb_vus_pr(labels, perfect, 40) == pytest.approx(vus_pr(labels, perfect, max_buffer=40))


def test_window_auto_follows_the_period_and_is_saved(tmp_path):
    import reconad
    from reconad import SeriesDetector

    t = np.arange(2400)
    x = np.sin(2 * np.pi * t / 36) + 0.05 * np.random.default_rng(3).standard_normal(len(t))
    detector = SeriesDetector("pca", window="auto", verbose=False, random_state=0).fit(x)
    assert detector.window_ == 108 and detector.window == "auto"  # three cycles of 36 steps
    path = tmp_path / "auto.reconad"
    detector.save(path)
    loaded = reconad.load(path)
    assert loaded.window == "auto" and loaded.window_ == 108
    np.testing.assert_allclose(loaded.anomaly_score(x[:500]), detector.anomaly_score(x[:500]), rtol=1e-6)
    noise = np.random.default_rng(4).random(3000)
    assert dominant_period(noise) is not None  # TSB-AD's rule finds a "period" in noise: its highest random peak
    flat = SeriesDetector("pca", window="auto", verbose=False, random_state=0).fit(noise)
    assert flat.window_ == 100  # window="auto" asks the peak to reach 0.2: noise gets the documented fallback


def test_window_must_be_an_integer_or_auto():
    from reconad import SeriesDetector
    from reconad.commands.options import int_or_auto

    with pytest.raises(InputError, match="window must be an integer"):
        SeriesDetector(window="period").fit(np.zeros(500))
    assert int_or_auto("auto") == "auto" and int_or_auto("64") == 64

import numpy as np
import pytest

from reconad.data.synthetic import clean_sine, make_sine
from reconad.errors import InputError


def test_clean_sine_is_two_turns_of_sine_per_period():
    clean = clean_sine()
    assert clean.shape == (3000,)
    # i = -2 + k * 4 / 99; sin(i * pi) by hand at k = 0, 99 (both ends of a period) and the period repeats
    assert clean[0] == pytest.approx(0.0, abs=1e-12)
    assert clean[99] == pytest.approx(0.0, abs=1e-12)
    k = 20
    assert clean[k] == pytest.approx(np.sin((-2 + k * 4 / 99) * np.pi))
    np.testing.assert_array_equal(clean[:100], clean[100:200])


@pytest.mark.parametrize("seed", [223, 0, 7])
def test_notebook_protocol_copies_training_noise_and_injects_anomalies(seed):
    data = make_sine(seed, "notebook")
    assert data.train.shape == (3000,) and data.test.shape == (1000,) and data.test_labels.shape == (1000,)
    expected_noise = np.random.RandomState(seed).random(3000)
    np.testing.assert_allclose(data.train, clean_sine() + expected_noise, rtol=0, atol=1e-6)
    starts = np.random.RandomState(seed).choice(1000, 5)
    np.testing.assert_array_equal(data.anomaly_starts, starts)
    expected_labels = np.zeros(1000, dtype=np.int8)
    factor = np.ones(1000)
    for s in starts:
        expected_labels[s : s + 10] = 1
        factor[s : s + 10] *= 2  # overlapping runs are doubled twice, as in the notebook's loop
    np.testing.assert_array_equal(data.test_labels, expected_labels)
    np.testing.assert_allclose(data.test, data.train[:1000] * factor, rtol=1e-6)


def test_independent_protocol_draws_new_noise_with_the_same_anomalies():
    nb, ind = make_sine(5, "notebook"), make_sine(5, "independent")
    np.testing.assert_array_equal(nb.test_labels, ind.test_labels)
    normal = ind.test_labels == 0
    assert not np.allclose(ind.test[normal], nb.test[normal])
    noise = ind.test[normal] - clean_sine()[:1000][normal]
    assert noise.min() >= 0 and noise.max() < 1  # uniform [0, 1) noise


def test_unknown_protocol_is_a_clear_error():
    with pytest.raises(InputError, match="notebook, independent"):
        make_sine(0, "other")

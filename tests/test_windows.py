import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconad.data.windows import WindowFolder, fold_windows, gather_windows, sliding_windows, window_starts
from reconad.errors import InputError


def test_sliding_windows_is_a_view_with_the_right_content():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    w = sliding_windows(x, window=4, stride=3)
    assert w.shape == (3, 4, 2)
    assert np.shares_memory(w, x)
    np.testing.assert_array_equal(w[1], x[3:7])


def test_window_starts_adds_the_tail_that_the_stride_skips():
    np.testing.assert_array_equal(window_starts(10, 4, 3), [0, 3, 6])
    np.testing.assert_array_equal(window_starts(11, 4, 3), [0, 3, 6, 7])
    np.testing.assert_array_equal(window_starts(1000, 100, 100), np.arange(0, 1000, 100))
    np.testing.assert_array_equal(window_starts(4, 4, 10), [0])


def test_too_short_series_names_the_window():
    with pytest.raises(InputError, match="fewer than one window of 5"):
        window_starts(3, 5, 1)


def test_fold_mean_and_max_by_hand():
    # windows of 3 at starts 0 and 2 over 5 steps: step 2 is covered twice
    values = np.array([[1.0, 2.0, 3.0], [5.0, 6.0, 7.0]])
    starts = np.array([0, 2])
    np.testing.assert_allclose(fold_windows(values, starts, 5, "mean"), [1, 2, 4, 6, 7])
    np.testing.assert_allclose(fold_windows(values, starts, 5, "max"), [1, 2, 5, 6, 7])


def test_fold_refuses_uncovered_steps():
    with pytest.raises(RuntimeError, match="covered by no window"):
        fold_windows(np.ones((1, 3)), np.array([0]), 5)
    starts = window_starts(10, 2, 4)  # stride 4 > window 2 skips steps 2, 3, 6, 7
    with pytest.raises(RuntimeError, match="covered by no window"):
        fold_windows(np.ones((len(starts), 2)), starts, 10)


@given(
    length=st.integers(1, 60),
    window=st.integers(1, 20),
    stride=st.integers(1, 25),
    n_features=st.integers(1, 3),
    batch=st.integers(1, 7),
)
def test_folding_the_windows_of_a_series_gives_back_the_series(length, window, stride, n_features, batch):
    if window > length or stride > window:  # a stride wider than the window leaves gaps (see below)
        return
    x = np.random.default_rng(length).normal(size=(length, n_features))
    starts = window_starts(length, window, stride)
    assert starts[0] == 0 and starts[-1] == length - window  # every step is covered
    folder = WindowFolder(length, window, "mean", trailing=(n_features,))
    for begin in range(0, len(starts), batch):  # in batches, as scoring does
        part = starts[begin : begin + batch]
        folder.add(gather_windows(x, part, window), part)
    np.testing.assert_allclose(folder.result(), x, atol=1e-12)
    np.testing.assert_allclose(fold_windows(gather_windows(x, starts, window), starts, length, "max"), x)


@pytest.mark.parametrize("stride", [1, 3])
@pytest.mark.parametrize("trailing", [(), (4,)])
def test_regular_windows_fold_to_the_bits_of_a_scatter_add(stride, trailing):
    # windows every `stride` steps take the strided-slice path; the reference adds each window's values in window
    # order into float64 sums that start at zero (np.bincount's order), batch by batch as the scorer feeds them
    rng = np.random.default_rng(0)
    window, starts = 16, np.arange(0, 300, stride)
    length = int(starts[-1]) + window
    values = (rng.normal(size=(len(starts), window, *trailing)) * 10 ** rng.uniform(-3, 3, size=(len(starts), 1,
                                                                                   *[1] * len(trailing))))
    values = values.astype(np.float32)
    folder, expected = WindowFolder(length, window, "mean", trailing=trailing), np.zeros((length, *trailing))
    for begin in range(0, len(starts), 40):
        part = np.zeros((length, *trailing))
        for i in range(begin, min(begin + 40, len(starts))):
            for w in range(window):
                part[starts[i] + w] += np.float64(values[i, w])
        expected += part
        folder.add(values[begin : begin + 40], starts[begin : begin + 40])
    assert np.array_equal(folder.partial()[0], expected)

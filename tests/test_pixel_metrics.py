"""Pixel-level metrics (pixel ROC-AUC, PRO as MVTec AD reports it) against hand-computed cases."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconad.errors import InputError
from reconad.metrics import pixel_roc_auc, pro_auc, pro_curve, roc_auc


def test_pixel_roc_auc_pools_every_pixel_of_every_image():
    masks = np.array([[[1, 0]], [[0, 1]]])  # two 1x2 images
    maps = np.array([[[0.9, 0.1]], [[0.5, 0.3]]])
    # positives 0.9, 0.3; negatives 0.1, 0.5: pairs (0.9>0.1, 0.9>0.5, 0.3>0.1, 0.3<0.5) -> 3 of 4
    assert pixel_roc_auc(masks, maps) == pytest.approx(0.75)
    assert np.isnan(pixel_roc_auc(np.zeros((1, 2, 2)), np.ones((1, 2, 2))))


def test_pro_full_range_by_hand():
    # one region of two pixels; sorted: 0.9 (region, PRO 1/2), 0.8 and 0.2 (clean), 0.1 (region, PRO 1), 0.0 clean
    masks = np.array([[1, 1, 0, 0, 0]])
    maps = np.array([[0.9, 0.1, 0.8, 0.2, 0.0]])
    fpr, pro, thresholds = pro_curve(masks, maps)
    np.testing.assert_allclose(fpr, [0, 0, 1 / 3, 2 / 3, 2 / 3, 1])
    np.testing.assert_allclose(pro, [0, 0.5, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(thresholds, [np.inf, 0.9, 0.8, 0.2, 0.1, 0.0])
    assert pro_auc(masks, maps, fpr_limit=1.0) == pytest.approx(1 / 6 + 1 / 6 + 1 / 3)
    assert pro_auc(masks, maps) == pytest.approx(0.5)  # PRO is 1/2 on all of [0, 0.3]


def test_pro_interpolates_at_the_limit_and_steps_over_ties():
    # a tie between the defect and the clean pixel: one step from (0, 0) to (1, 1); at fpr 0.3, PRO 0.3
    masks, maps = np.array([[1, 0]]), np.array([[0.5, 0.5]])
    assert pro_auc(masks, maps, fpr_limit=1.0) == pytest.approx(0.5)
    assert pro_auc(masks, maps) == pytest.approx(0.3 * 0.3 / 2 / 0.3)


def test_pro_weighs_regions_not_pixels():
    # regions of 1 and 3 pixels; the small one found first: PRO 1/2 (pixel-wise it would be 1/4)
    masks = np.array([[1, 0, 1, 1, 1]])
    maps = np.array([[0.9, 0.5, 0.1, 0.1, 0.1]])
    assert pro_auc(masks, maps, fpr_limit=1.0) == pytest.approx(0.5)
    assert pro_auc(masks, maps) == pytest.approx(0.5)


def test_pro_regions_are_eight_connected_and_per_image():
    masks = np.zeros((3, 4), dtype=int)
    masks[0, 0] = masks[1, 1] = 1  # touching at a corner: one region of 2
    masks[2, 3] = 1  # a region of its own
    maps = np.full((3, 4), 0.5)
    maps[0, 0], maps[1, 1], maps[2, 3] = 0.9, 0.1, 0.1
    # first threshold: half of region A, none of B -> PRO (1/2 + 0) / 2 = 1/4 (4-connected would read 1/3)
    assert pro_auc(masks, maps, fpr_limit=1.0) == pytest.approx(0.25)
    # the same mask split over two images keeps two regions, and the clean pixels of both count
    two = np.stack([masks, np.zeros_like(masks)])
    assert pro_auc(two, np.stack([maps, np.full((3, 4), 0.0)]), fpr_limit=1.0) == pytest.approx(
        0.25 * 9 / 21 + 1 * 12 / 21)


def test_perfect_and_reversed_maps():
    masks = np.zeros((2, 6, 6), dtype=int)
    masks[0, 1:3, 1:4] = 1
    masks[1, 4:, 4:] = 1
    assert pro_auc(masks, masks + 0.0) == pytest.approx(1.0)
    assert pro_auc(masks, 1.0 - masks) == pytest.approx(0.0)


def test_bad_input_is_one_clear_error():
    with pytest.raises(InputError, match="shape"):
        pro_auc(np.zeros((1, 2, 2)), np.zeros((1, 2, 3)))
    with pytest.raises(InputError, match="0 .defect-free"):
        pro_auc(np.full((1, 2, 2), 2), np.zeros((1, 2, 2)))
    with pytest.raises(InputError, match="at least one defective"):
        pro_auc(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)))
    with pytest.raises(InputError, match="NaN"):
        pixel_roc_auc(np.array([[1, 0]]), np.array([[np.nan, 0]]))
    with pytest.raises(InputError, match="fpr_limit"):
        pro_auc(np.array([[1, 0]]), np.array([[1, 0]]), fpr_limit=0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 4)), min_size=3, max_size=40))
def test_pro_of_single_pixel_regions_is_the_roc_auc(cells):
    """With every defect a region of one pixel, PRO is the true-positive rate: the full-range area is ROC-AUC."""
    flags = [flag for flag, _ in cells]
    isolated = [int(f and not (i and flags[i - 1])) for i, f in enumerate(flags)]  # no two defects touch
    row, values = np.array([isolated]), np.array([[float(v) for _, v in cells]])
    if row.min() == row.max():
        return
    area = pro_auc(row, values, fpr_limit=1.0)
    assert area == pytest.approx(roc_auc(row.ravel(), values.ravel()))
    assert 0 <= pro_auc(row, values) <= 1
    assert pro_auc(row, np.exp(values)) == pytest.approx(pro_auc(row, values))  # only the ranking counts

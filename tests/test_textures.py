"""Procedural texture suites with defect masks, transformed digits, and the image-suites benchmark."""

import numpy as np
import pytest

from reconad.data.textures import (
    DEFECTS,
    TEXTURES,
    add_defect,
    digits_on_texture,
    inverted_digits,
    texture,
    texture_suite,
)
from reconad.errors import InputError


@pytest.mark.parametrize("kind", TEXTURES)
def test_textures_are_64x64_in_unit_range_and_differ_between_images(kind):
    rng = np.random.default_rng(0)
    colour, grey = texture(kind, rng, True), texture(kind, rng, False)
    assert colour.shape == (3, 64, 64) and grey.shape == (1, 64, 64)
    assert colour.dtype == np.float32 and 0 <= colour.min() and colour.max() <= 1
    assert grey.std() > 0.1  # a texture, not a flat image
    assert not np.allclose(texture(kind, rng, False), grey)  # every image its own


@pytest.mark.parametrize("kind", DEFECTS)
@pytest.mark.parametrize("channels", [1, 3])
def test_a_defect_changes_exactly_its_mask(kind, channels):
    rng = np.random.default_rng(1)
    clean = texture("stripes", rng, channels == 3)
    defective, mask = add_defect(clean, kind, rng)
    assert mask.shape == (64, 64) and mask.dtype == np.uint8 and 20 <= mask.sum() < 64 * 64 // 4
    outside = mask == 0
    np.testing.assert_array_equal(defective[:, outside], clean[:, outside])  # untouched outside the mask
    assert (np.abs(defective - clean).max(axis=0)[mask == 1] > 0).all()  # and every masked pixel changed
    assert not mask[0].any() and not mask[-1].any()  # away from the border


def test_suite_is_half_normal_half_defective_and_deterministic():
    suite = texture_suite("weave", colour=True, n_train=6, n_test=8, seed=3)
    assert suite.train.shape == (6, 3, 64, 64) and suite.test.shape == (8, 3, 64, 64)
    assert suite.labels.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert suite.defects[4:] == [DEFECTS[i % 4] for i in range(4, 8)] and suite.defects[:4] == [""] * 4
    assert suite.masks[:4].sum() == 0 and (suite.masks[4:].sum(axis=(1, 2)) > 0).all()
    again = texture_suite("weave", colour=True, n_train=6, n_test=8, seed=3)
    np.testing.assert_array_equal(again.test, suite.test)
    assert not np.array_equal(texture_suite("weave", colour=True, n_train=6, n_test=8, seed=4).test, suite.test)
    with pytest.raises(InputError, match="choose from noise"):
        texture_suite("marble", colour=True)


def test_transformed_digits():
    digits = np.zeros((2, 1, 28, 28), dtype=np.float32)
    digits[:, :, 10:18, 12:15] = 1.0  # a bar of ink
    inverted = inverted_digits(digits)
    assert inverted[0, 0, 0, 0] == 1.0 and inverted[0, 0, 12, 13] == 0.0
    textured = digits_on_texture(digits)
    assert textured.shape == digits.shape and textured.dtype == np.float32
    np.testing.assert_allclose(textured[:, :, 10:18, 12:15], 1.0)  # the ink stays white
    background = textured[:, :, :8]
    assert 0.1 <= background.min() and background.max() <= 0.6 and background.std() > 0.02
    assert not np.allclose(textured[0, :, :8], textured[1, :, :8])  # a new background per image


def test_image_suites_benchmark_on_a_tiny_run(tmp_path):
    from reconad.bench import run_suite
    from reconad.bench.image_suites import knn_scores

    train = np.zeros((6, 1, 2, 2))
    train[3:] = 1.0
    test = np.full((1, 1, 2, 2), 0.25)
    test[0, 0, 0, 0] = 1.0
    distance, maps = knn_scores(train, test)
    # neighbours: the three zeros (distance sqrt(1 + 3 * 0.0625)) and two ones (sqrt(3 * 0.5625))
    assert distance[0] == pytest.approx((3 * np.sqrt(1.1875) + 2 * np.sqrt(1.6875)) / 5)
    np.testing.assert_allclose(maps[0], [[0.36, 0.0225], [0.0225, 0.0225]])  # (x - 0.4)^2
    payload = run_suite("image-suites", tmp_path, names=["grain-grey"], epochs=1)
    (row,) = payload["rows"]
    for key in ("reconad", "knn5", "IsolationForest", "reconad_pixel_roc_auc", "reconad_pro", "knn5_pro"):
        assert 0 <= row[key] <= 1
    assert row["defects"] == {d: 25 for d in DEFECTS}
    text = (tmp_path / "image_suites.md").read_text()
    assert "| grain-grey |" in text and "reconad PRO" in text
    with pytest.raises(ValueError, match="unknown image suite"):
        run_suite("image-suites", names=["marble"])

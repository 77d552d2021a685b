"""Restoration training (turned inputs, upright targets) and the blurred error measure."""

import numpy as np
import pytest
import torch

from reconad import ImageDetector
from reconad.imaging import error_map, random_turns, turn, turns


def test_turns_keep_the_image_shape():
    assert turns(28, 28, "rotate") == [0, 1, 2, 3]
    assert turns(7, 9, "rotate") == [0, 2]  # a quarter turn would make 9x7 images
    assert turns(28, 28, None) == [0]
    x = torch.arange(6.0).view(1, 1, 2, 3)
    assert torch.equal(turn(x, 2), torch.tensor([[[[5.0, 4, 3], [2, 1, 0]]]]))  # a half turn, by hand
    assert torch.equal(turn(turn(x, 1), 3), x)


def test_random_turns_turn_each_image_by_one_of_the_options():
    torch.manual_seed(0)
    x = torch.rand(64, 1, 5, 5)
    out = random_turns(x, [0, 1, 2, 3])
    seen = set()
    for original, turned in zip(x, out):
        match = [k for k in range(4) if torch.equal(turn(original[None], k)[0], turned)]
        assert len(match) == 1
        seen.add(match[0])
    assert seen == {0, 1, 2, 3}
    assert random_turns(x, [0]) is x


def test_mse_error_map_by_hand_and_blur_properties():
    x = torch.zeros(1, 1, 9, 9)
    x_hat = torch.zeros(1, 1, 9, 9)
    x_hat[0, 0, 4, 4] = 0.5
    mse = error_map(x_hat, x, "mse")
    assert mse.sum().item() == pytest.approx(0.25) and mse[0, 0, 4, 4].item() == pytest.approx(0.25)
    blur = error_map(x_hat, x, "blur")
    assert blur.argmax().item() == 4 * 9 + 4  # the blurred error peaks where the error is
    assert blur.max().item() < mse.max().item()  # and a lone pixel's error is spread out
    assert error_map(x, x, "blur").abs().max().item() == 0
    constant = error_map(x + 0.25, x, "blur")  # a uniform error stays uniform (replicated borders)
    torch.testing.assert_close(constant, torch.full_like(x, 0.0625))


def test_blur_weighs_a_clustered_error_above_scattered_ones_of_the_same_size():
    """The point of the blurred error: a missing part of a shape counts more than the same error spread thin."""
    x = torch.zeros(1, 1, 16, 16)
    clustered, scattered = x.clone(), x.clone()
    clustered[0, 0, 6:10, 6:10] = 0.5  # one 4x4 blob
    scattered[0, 0, 1:16:4, 1:16:4] = 0.5  # 16 lone pixels
    assert error_map(clustered, x, "mse").mean().item() == pytest.approx(error_map(scattered, x, "mse").mean().item())
    assert error_map(clustered, x, "blur").mean().item() > 2 * error_map(scattered, x, "blur").mean().item()


def test_rotation_restoration_trains_and_scores_non_square_images():
    rng = np.random.default_rng(0)
    images = rng.random((48, 2, 6, 10), dtype=np.float32)
    det = ImageDetector("conv-bn", transforms="rotate", error="blur", density=None, epochs=1, latent_dim=4,
                        verbose=False, random_state=0).fit(images)
    scores = det.anomaly_score(images[:5])
    np.testing.assert_allclose(det.error_map(images[:5]).mean(axis=(1, 2)), scores, rtol=1e-5)
    per_channel = det.error_map(images[:5], per_channel=True)
    assert per_channel.shape == (5, 2, 6, 10)
    np.testing.assert_allclose(per_channel.mean(axis=1), det.error_map(images[:5]), rtol=1e-6)
    assert det.reconstruct(images[:5]).shape == (5, 2, 6, 10)


def test_restoration_scores_average_the_turns():
    rng = np.random.default_rng(1)
    images = rng.random((40, 1, 8, 8), dtype=np.float32)
    det = ImageDetector(transforms="rotate", error="mse", density=None, epochs=1, latent_dim=4, verbose=False,
                        random_state=0).fit(images)
    x = torch.from_numpy(images[:6])
    with torch.no_grad():
        by_hand = torch.stack([((det.model_(turn(x, k)) - x) ** 2).mean(dim=(1, 2, 3)) for k in range(4)]).mean(0)
    np.testing.assert_allclose(det.anomaly_score(images[:6]), by_hand.numpy(), rtol=1e-5)
    plain = ImageDetector(epochs=1, latent_dim=4, error="mse", density=None, verbose=False, random_state=0)
    with torch.no_grad():  # fit trains under enable_grad even inside a caller's no_grad
        plain.fit(images)
        direct = ((plain.model_(x) - x) ** 2).mean(dim=(1, 2, 3)).numpy()
    np.testing.assert_allclose(plain.anomaly_score(images[:6]), direct, rtol=1e-5)


@pytest.mark.parametrize("bad", [dict(transforms="flip"), dict(error="ssim"), dict(density="gmm")])
def test_bad_restoration_settings_are_input_errors(bad):
    from reconad import InputError

    with pytest.raises(InputError, match=next(iter(bad))):
        ImageDetector(**bad).fit(np.zeros((20, 8, 8), dtype=np.float32))

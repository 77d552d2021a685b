"""Colour images of any size: folders of PNG / JPEG files, the conv family at 64x64x3, the CLI end to end."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from reconad.cli import main
from reconad.data.images import read_image_folder, read_images
from reconad.errors import InputError
from reconad.models import build_model


def save(folder, name, array):
    folder.mkdir(exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(folder / name)


def test_folder_rule_resizes_to_the_first_file_and_converts_grey_among_colour(tmp_path):
    folder = tmp_path / "mixed"
    save(folder, "a.png", np.full((4, 6), 51))  # grey, 4x6: sets the size
    save(folder, "b.png", np.full((8, 12, 3), (255, 0, 102)))  # colour, twice the size
    save(folder, "c.jpg", np.full((4, 6, 3), (0, 0, 255)))  # JPEG
    Image.fromarray(np.full((4, 6, 4), (0, 255, 0, 10), np.uint8), "RGBA").save(folder / "d.png")  # alpha dropped
    (folder / "notes.txt").write_text("not an image")  # ignored
    images, names = read_image_folder(folder)
    assert names == ["a.png", "b.png", "c.jpg", "d.png"]
    assert images.shape == (4, 3, 4, 6) and images.dtype == np.float32
    np.testing.assert_allclose(images[0], 0.2, atol=1e-6)  # grey among colour: three equal channels
    np.testing.assert_allclose(images[1, :, 0, 0], [1.0, 0.0, 0.4], atol=1e-6)  # a constant stays constant
    np.testing.assert_allclose(images[2, :, 2, 3], [0, 0, 1], atol=0.05)  # JPEG is lossy
    np.testing.assert_allclose(images[3, :, 0, 0], [0, 1, 0], atol=1e-6)
    grey, _ = read_image_folder(folder, size=(2, 3), channels=1)
    assert grey.shape == (4, 1, 2, 3)
    assert grey[1, 0, 0, 0] == pytest.approx((0.299 * 255 + 0.114 * 102) / 255, abs=1 / 255)  # ITU-R 601-2 luma
    only_grey = tmp_path / "grey"
    save(only_grey, "a.png", np.full((5, 5), 0))
    save(only_grey, "b.png", np.full((7, 3), 255))
    images, _ = read_images(only_grey)
    assert images.shape == (2, 1, 5, 5)  # every image grey: one channel
    assert read_images(only_grey, channels=3)[0].shape == (2, 3, 5, 5)


@pytest.mark.parametrize("kwargs, message", [
    ({"size": (0, 4)}, "image size must be"),
    ({"channels": 2}, "channels must be 1"),
])
def test_folder_rule_refuses_bad_options(tmp_path, kwargs, message):
    save(tmp_path / "f", "a.png", np.zeros((4, 4)))
    with pytest.raises(InputError, match=message):
        read_image_folder(tmp_path / "f", **kwargs)


@pytest.mark.parametrize("name", ["conv", "conv-bn"])
def test_conv_family_scales_with_the_image(name):
    model = build_model(name, in_channels=3, height=64, width=64)
    x = torch.rand(2, 3, 64, 64)
    assert model(x).shape == (2, 3, 64, 64)
    assert len(model.encoder) == 3  # 64 -> 32 -> 16 -> 8
    assert len(build_model(name, in_channels=1, height=28, width=28).encoder) == 2  # MNIST: as before
    assert build_model(name, in_channels=3, height=48, width=80)(torch.rand(1, 3, 48, 80)).shape == (1, 3, 48, 80)


def textures(rng, count, defect=False):
    """64x64 colour stripes with noise; a defect is a bright green square of 12 pixels."""
    out = []
    rows = np.arange(64)[:, None]
    for _ in range(count):
        phase = rng.uniform(0, 2 * np.pi)
        base = 0.5 + 0.3 * np.sin(rows / 3 + phase) + 0.05 * rng.standard_normal((64, 64))
        picture = np.stack([base, 0.6 * base, 0.3 * base], axis=-1)
        if defect:
            top, left = rng.integers(4, 48, size=2)
            picture[top : top + 12, left : left + 12] = (0.1, 1.0, 0.1)
        out.append((np.clip(picture, 0, 1) * 255).round())
    return out


def test_colour_folder_trains_scores_and_reports_maps_from_the_cli(tmp_path, capsys):
    rng = np.random.default_rng(0)
    train, test = tmp_path / "train", tmp_path / "test"
    for i, picture in enumerate(textures(rng, 48)):
        save(train, f"{i:03d}.png", picture)
    normal, defects = textures(rng, 6), textures(rng, 6, defect=True)
    for i, picture in enumerate(normal + defects):
        save(test, f"{i:03d}.png", picture)
    save(test, "999.png", np.asarray(Image.fromarray(defects[0].astype(np.uint8)).resize((96, 96))))  # resized
    labels = [0] * 6 + [1] * 7
    pd.DataFrame({"label": labels}).to_csv(tmp_path / "labels.csv", index=False)
    model = tmp_path / "tex.reconad"
    fast = ["--epochs", "3", "--random-state", "0", "--quiet"]
    assert main(["fit", str(train), "--out", str(model), "--model", "conv", *fast]) == 0
    assert "images of shape (3, 64, 64)" in capsys.readouterr().out
    assert main(["score", str(model), str(test), "--out", str(tmp_path / "s.csv"), "--quiet"]) == 0
    scores = pd.read_csv(tmp_path / "s.csv")
    assert len(scores) == 13 and scores["image"].iloc[-1] == "999.png"
    code = main(["evaluate", str(model), str(test), "--labels", str(tmp_path / "labels.csv"),
                 "--report", str(tmp_path / "r.html"), "--json", str(tmp_path / "m.json"), "--quiet"])
    assert code == 0
    assert json.loads((tmp_path / "m.json").read_text())["threshold_free"]["roc_auc"] > 0.75  # green squares found
    report = (tmp_path / "r.html").read_text()
    assert 'alt="the worst images with their anomaly maps"' in report
    assert 'alt="inputs, reconstructions and error maps"' in report
    capsys.readouterr()
    assert main(["fit", str(train), "--out", str(tmp_path / "small.reconad"), "--image-size", "32x48",
                 "--model", "conv", "--epochs", "1", "--quiet"]) == 0
    assert "(3, 32, 48)" in capsys.readouterr().out
    assert main(["fit", str(train), "--out", str(tmp_path / "bad.reconad"), "--image-size", "32y"]) == 2
    assert "--image-size" in capsys.readouterr().err
    idx = tmp_path / "x-images-idx3-ubyte"
    idx.write_bytes(b"\x00\x00\x08\x03" + np.array([2, 4, 4], ">u4").tobytes() + bytes(32))
    assert main(["fit", str(idx), "--out", str(tmp_path / "idx.reconad"), "--image-size", "8"]) == 2
    assert "an IDX file's images are taken as they are" in capsys.readouterr().err

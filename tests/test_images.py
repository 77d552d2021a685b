import gzip
import struct

import numpy as np
import pytest
from conftest import require_dataset

from reconad import InputError
from reconad.data import ImageData, load_digits_images, load_mnist, read_idx
from reconad.data.images import as_images


def idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def images():
    return np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip_raw_and_gzip(tmp_path, images, compress):
    data = idx_bytes(images)
    path = tmp_path / ("x.idx3-ubyte.gz" if compress else "x.idx3-ubyte")
    path.write_bytes(gzip.compress(data) if compress else data)
    out = read_idx(path, ndim=3)
    assert out.dtype == np.uint8 and out.shape == (3, 4, 5)
    np.testing.assert_array_equal(out, images)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b: b"\x00\x00\x0d\x03" + b[4:], "magic number"),  # float type code, not unsigned bytes
        (lambda b: b"\x12\x34" + b[2:], "magic number"),
        (lambda b: b[:-7], "truncated"),
        (lambda b: b + b"\x00", "header announces"),
        (lambda b: b[:10], "header is incomplete"),
        (lambda b: b[:2], "bytes long"),
        (lambda b: b"", "bytes long"),
    ],
)
def test_damaged_idx_files_are_input_errors(tmp_path, images, damage, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(damage(idx_bytes(images)))
    with pytest.raises(InputError, match=message):
        read_idx(path)


def test_wrong_dimensions_truncated_gzip_and_missing_file(tmp_path, images):
    path = tmp_path / "labels.idx"
    path.write_bytes(idx_bytes(images))
    with pytest.raises(InputError, match="3 dimensions but 1 were expected"):
        read_idx(path, ndim=1)
    broken = tmp_path / "broken.gz"
    broken.write_bytes(gzip.compress(idx_bytes(images))[:-12])
    with pytest.raises(InputError, match="damaged gzip"):
        read_idx(broken)
    with pytest.raises(InputError, match="does not exist"):
        read_idx(tmp_path / "nope.idx")


def test_load_mnist_from_a_small_folder(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 6), ("t10k", 4)):
        (tmp_path / f"{prefix}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(idx_bytes(rng.integers(0, 256, (n, 28, 28))))
        )
        (tmp_path / f"{prefix}-labels-idx1-ubyte").write_bytes(idx_bytes(np.arange(n) % 10))  # raw works too
    data = load_mnist(tmp_path)
    assert isinstance(data, ImageData)
    assert data.train_images.shape == (6, 1, 28, 28) and data.test_images.shape == (4, 1, 28, 28)
    assert data.train_images.dtype == np.float32 and 0 <= data.train_images.min() and data.train_images.max() <= 1
    np.testing.assert_array_equal(data.test_labels, [0, 1, 2, 3])
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.arange(3)))
    with pytest.raises(InputError, match="4 images but 3 labels"):
        load_mnist(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        load_mnist(tmp_path / "elsewhere")


def test_real_mnist_files():
    folder = require_dataset("mnist")
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz", ndim=1)
    assert labels.shape == (10000,)
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    data = load_mnist(folder)
    assert data.train_images.shape == (60000, 1, 28, 28) and data.test_images.shape == (10000, 1, 28, 28)
    first = data.test_images[:100]
    assert first.dtype == np.float32 and first.min() == 0.0 and first.max() == 1.0
    assert data.test_labels[:5].tolist() == [7, 2, 1, 0, 4]


def test_sklearn_digits_need_no_files():
    images, labels = load_digits_images()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    assert labels.shape == (1797,) and set(labels.tolist()) == set(range(10))


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((4, 4)), "shape"),
        (np.zeros((0, 8, 8)), "empty"),
        (np.full((2, 8, 8), 255.0), "divide by 255"),
        (np.full((2, 8, 8), -0.5), r"\[0, 1\]"),
        (np.where(np.eye(8)[None] > 0, np.nan, 0.5), "NaN"),
        ([["a"]], "numeric"),
        (np.full((1, 2, 2), 1e300), r"\[1e\+300, 1e\+300\]"),  # beyond float32: reported as is, not as inf
    ],
)
def test_as_images_rejects_bad_input(bad, message):
    with pytest.raises(InputError, match=message):
        as_images(bad)


def test_as_images_adds_the_channel():
    assert as_images(np.zeros((2, 5, 6))).shape == (2, 1, 5, 6)
    assert as_images(np.zeros((2, 3, 5, 6))).shape == (2, 3, 5, 6)
    binary = as_images(np.eye(4, dtype=bool)[None])  # binary masks are images too
    assert binary.dtype == np.float32 and binary.sum() == 4
    assert as_images(np.full((1, 2, 2), 255, np.uint8) // 255).max() == 1.0


# ---- image files given on the command line -------------------------------------------------------------------------


def test_png_folders_and_idx_files_are_image_data(tmp_path, images):
    from PIL import Image

    from reconad.data.images import is_image_data, read_image_labels, read_images

    (tmp_path / "x.idx").write_bytes(idx_bytes(images))
    (tmp_path / "unnamed").write_bytes(idx_bytes(images))  # found by its magic number
    (tmp_path / "t.csv").write_text("a\n1\n")
    assert is_image_data(tmp_path) and is_image_data(tmp_path / "x.idx") and is_image_data(tmp_path / "unnamed")
    assert not is_image_data(tmp_path / "t.csv") and not is_image_data(tmp_path / "missing.csv")
    x, names = read_images(tmp_path / "x.idx")
    assert x.shape == (3, 1, 4, 5) and x.dtype == np.float32 and names == ["0", "1", "2"]
    np.testing.assert_allclose(x[:, 0] * 255, images, atol=1e-4)
    folder = tmp_path / "png"
    folder.mkdir()
    for i, picture in enumerate(images[::-1]):
        Image.fromarray(picture).save(folder / f"{i}.png")
    x, names = read_images(folder)
    assert x.shape == (3, 1, 4, 5) and names == ["0.png", "1.png", "2.png"]  # grey: one channel
    np.testing.assert_allclose(x[0, 0] * 255, images[2], atol=1e-4)
    (tmp_path / "labels.csv").write_text("label\n3\n7\n3\n")
    assert read_image_labels(tmp_path / "labels.csv", 3, normal=[3]).tolist() == [0, 1, 0]
    (tmp_path / "labels.idx").write_bytes(idx_bytes(np.array([0, 1, 1])))
    assert read_image_labels(tmp_path / "labels.idx", 3).tolist() == [0, 1, 1]


@pytest.mark.parametrize("case, message", [
    ("empty folder", "holds no .png, .jpg or .jpeg files"),
    ("not a png", "is not a readable PNG or JPEG image"),
    ("labels as images", "is it a labels file"),
    ("label count", "has 2 labels but there are 3 images"),
    ("not 0/1", "are not all 0/1"),
    ("text labels", "non-numeric or missing values"),
])
def test_image_files_raise_one_clear_error(tmp_path, case, message):

    from reconad.data.images import read_image_labels, read_images

    folder = tmp_path / "png"
    folder.mkdir()
    if case == "not a png":
        (folder / "a.png").write_bytes(b"not a picture")
    if case in ("empty folder", "not a png"):
        call = lambda: read_images(folder)  # noqa: E731
    elif case == "labels as images":
        (tmp_path / "labels.idx").write_bytes(idx_bytes(np.array([0, 1, 1])))
        call = lambda: read_images(tmp_path / "labels.idx")  # noqa: E731
    else:
        text = {"label count": "y\n0\n1\n", "not 0/1": "y\n0\n1\n2\n", "text labels": "y\n0\nx\n1\n"}[case]
        (tmp_path / "labels.csv").write_text(text)
        call = lambda: read_image_labels(tmp_path / "labels.csv", 3)  # noqa: E731
    with pytest.raises(InputError, match=message):
        call()

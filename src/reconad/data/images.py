"""Image sources: IDX files (the MNIST format), folders of PNG / JPEG files and scikit-learn's bundled 8x8 digits.

Every loader returns float32 images ``(N, C, H, W)`` scaled to [0, 1] and integer labels ``(N,)``, the
shape :class:`reconad.ImageDetector` takes. Nothing here downloads: MNIST is read from files that are
already on disk (``RECONAD_DATA``, else ``<repo>/../shared/data``), the digits ship with scikit-learn.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from reconad.errors import InputError
from reconad.validation import complex_message

# IDX magic: two zero bytes, a type code (0x08 = unsigned byte) and the number of dimensions.
_UBYTE = 0x08
_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class ImageData(NamedTuple):
    """Images ``(N, 1, H, W)`` float32 in [0, 1] and integer labels ``(N,)``, for a train and a test split."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise InputError(f"IDX file {path} does not exist; check the path (or set RECONAD_DATA)")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip signature
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{path} is a damaged gzip file ({exc}); download or copy it again") from exc
    return raw


def read_idx(path: str | os.PathLike, ndim: int | None = None) -> np.ndarray:
    """An IDX file (gzip'd or raw) of unsigned bytes as a uint8 array of the shape its header gives.

    ``ndim`` checks the number of dimensions (3 for images, 1 for labels). Anything that is not a complete
    unsigned-byte IDX file raises :class:`InputError`.
    """
    path = Path(path)
    data = _read_bytes(path)
    what = f"{path} is not an IDX file of unsigned bytes"
    if len(data) < 4:
        raise InputError(f"{what}: it is only {len(data)} bytes long (empty or truncated); copy it again")
    zero, kind, dims = struct.unpack(">HBB", data[:4])
    if zero != 0 or kind != _UBYTE or dims == 0:
        raise InputError(
            f"{what}: its magic number is 0x{data[:4].hex()} (expected 0x000008NN, NN = the number of "
            "dimensions); pass an MNIST-style .idx / -ubyte file"
        )
    if ndim is not None and dims != ndim:
        raise InputError(
            f"{path} has {dims} dimensions but {ndim} were expected; check that the images and labels files "
            "are not swapped"
        )
    header = 4 + 4 * dims
    if len(data) < header:
        raise InputError(f"{path} is truncated: its header is incomplete; copy the file again")
    shape = struct.unpack(f">{dims}I", data[4:header])
    expected = int(np.prod(shape, dtype=np.int64))
    if len(data) - header != expected:
        raise InputError(
            f"{path} holds {len(data) - header} data bytes but its header announces shape {shape} "
            f"({expected} bytes): the file is truncated or damaged; copy it again"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _find(folder: Path, stem: str) -> Path:
    for name in (f"{stem}.gz", stem, stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    raise InputError(
        f"MNIST file {stem}(.gz) not found in {folder}; put the four MNIST IDX files there or set "
        "RECONAD_DATA to the folder that holds mnist/"
    )


def data_root() -> Path:
    """Where datasets live: ``$RECONAD_DATA``, else ``../shared/data`` beside the repository."""
    if os.environ.get("RECONAD_DATA"):
        return Path(os.environ["RECONAD_DATA"])
    return Path(__file__).resolve().parents[3].parent / "shared" / "data"


def load_mnist(root: str | os.PathLike | None = None) -> ImageData:
    """MNIST's train (60,000) and test (10,000) splits as float32 ``(N, 1, 28, 28)`` in [0, 1] plus labels.

    ``root`` is the folder holding the four IDX files; by default ``data_root() / "mnist"``.
    """
    folder = Path(root) if root is not None else data_root() / "mnist"
    if not folder.is_dir():
        raise InputError(f"MNIST folder {folder} does not exist; set RECONAD_DATA or pass root=")
    splits = {}
    for split, (images_stem, labels_stem) in _MNIST_FILES.items():
        images = read_idx(_find(folder, images_stem), ndim=3)  # (N, H, W) uint8
        labels = read_idx(_find(folder, labels_stem), ndim=1)  # (N,) uint8
        if len(images) != len(labels):
            raise InputError(f"MNIST {split} split has {len(images)} images but {len(labels)} labels")
        splits[split] = (_to_unit(images, 255.0), labels.astype(np.int64))
    return ImageData(*splits["train"], *splits["test"])


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (1,797 images, no files): ``(N, 1, 8, 8)`` in [0, 1] and labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return _to_unit(digits.images, 16.0), digits.target.astype(np.int64)  # pixel values are 0..16


def _to_unit(images: np.ndarray, top: float) -> np.ndarray:
    return (np.asarray(images, dtype=np.float32) / np.float32(top))[:, None]  # (N, H, W) -> (N, 1, H, W)


COLOUR_CHANNELS = (1, 3, 4)  # grey, RGB, RGBA: a last axis of this size, and a second one not, is channels-last


def as_images(X, what: str = "images") -> np.ndarray:
    """Images as a contiguous float32 array ``(N, C, H, W)`` in [0, 1]; ``(N, H, W)`` gets one channel.

    Raises :class:`InputError` naming the fix for a wrong number of dimensions, channels last, no images, NaN /
    infinite values, or values outside [0, 1].
    """
    if np.iscomplexobj(X):  # numpy would cast it to real, dropping the imaginary part
        raise InputError(complex_message(what))
    try:
        array = np.asarray(X)
        if array.dtype != np.float32:  # checked in float64, so values beyond float32 are not turned into inf
            array = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} must be a numeric array; could not convert it: {exc}") from exc
    if array.ndim == 3:
        array = array[:, None]  # (N, H, W) -> (N, 1, H, W)
    elif array.ndim != 4:
        raise InputError(
            f"{what} must have shape (N, H, W) or (N, C, H, W), got shape {array.shape}; for one image use "
            "image[None], for series use SeriesDetector"
        )
    if array.shape[3] in COLOUR_CHANNELS and array.shape[1] not in COLOUR_CHANNELS:
        raise InputError(
            f"{what} has shape {array.shape}, which reads as (N, H, W, C) with the channels last (as PIL, OpenCV "
            "and matplotlib store them); reconad takes (N, C, H, W): pass x.transpose(0, 3, 1, 2)"
        )
    if array.size == 0:
        raise InputError(f"{what} is empty (shape {array.shape}); pass at least one image")
    bad = ~np.isfinite(array)
    if bad.any():
        first = int(np.flatnonzero(bad.reshape(len(array), -1).any(axis=1))[0])
        raise InputError(
            f"{what} contains {int(bad.sum())} NaN or infinite values (first in image {first}); "
            "drop or repair those images"
        )
    low, high = float(array.min()), float(array.max())
    if low < 0 or high > 1:
        raise InputError(
            f"{what} has values in [{low:g}, {high:g}] but must lie in [0, 1]; scale them first "
            "(for 8-bit images divide by 255)"
        )
    return np.ascontiguousarray(array, dtype=np.float32)


# ---- image files given on the command line: IDX files and folders of PNG images --------------------------------

IDX_SUFFIXES = (".idx", "-ubyte", ".idx.gz", "-ubyte.gz")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")


def is_image_data(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds images: a folder (of PNG files), or an IDX file by its name or its magic number.

    A table (CSV, Parquet, ...) or a path that does not exist holds no images.
    """
    path = Path(path)
    if path.is_dir():
        return True
    if path.name.lower().endswith(IDX_SUFFIXES):
        return True
    if path.is_file() and path.suffix.lower() not in TABLE_SUFFIXES:
        with open(path, "rb") as handle:
            head = handle.read(4)
        return len(head) == 4 and head[:3] == b"\x00\x00\x08"
    return False


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _picture(file: Path, channels: int | None, size: tuple[int, int] | None) -> np.ndarray:
    """One file as float32 ``(H, W, 3)`` (``channels`` None or 3) or ``(H, W, 1)`` in [0, 1], resized to ``size``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file) as picture:
            picture = picture.convert("L" if channels == 1 else "RGB")  # alpha dropped, palettes expanded
            if size is not None and picture.size != (size[1], size[0]):
                picture = picture.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            array = np.asarray(picture, dtype=np.float32) / np.float32(255)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(f"{file} is not a readable PNG or JPEG image ({exc})") from exc
    return array[:, :, None] if array.ndim == 2 else array


def read_image_folder(folder: str | os.PathLike, size: tuple[int, int] | None = None,
                      channels: int | None = None) -> tuple[np.ndarray, list[str]]:
    """The PNG and JPEG files of a folder, in sorted name order: images ``(N, C, H, W)`` in [0, 1] and file names.

    Why: photographs of parts or fabrics come as folders of files of any size, grey or colour; the detector
    takes one array of one shape. The rule:

    - **size**: every image is resized to ``size`` ``(H, W)``, by default the size of the first file (in sorted
      name order), with Pillow's bilinear filter (antialiased when shrinking). The aspect ratio is not kept: crop
      images first where stretching would distort what matters.
    - **channels**: ``None`` gives one channel when every image is grey (a grey file, or colour with every
      channel equal) and three (RGB) otherwise: grey files among colour ones become RGB with three equal
      channels, never refused. ``1`` converts every image to grey (Pillow's ITU-R 601-2 luma), ``3`` to RGB.
      Transparency (alpha) is dropped.

    Scoring with a fitted detector passes its ``size`` and ``channels``, so new files are read as it was trained.
    Raises :class:`InputError` for a folder without such files, an unreadable file or a bad ``size`` /
    ``channels``.
    """
    folder = Path(folder)
    if size is not None and not (len(size) == 2 and all(isinstance(n, (int, np.integer)) and 0 < n <= 4096
                                                        for n in size)):
        raise InputError(f"image size must be (height, width) in pixels, each 1..4096, got {size!r}")
    if channels not in (None, 1, 3):
        raise InputError(f"channels must be 1 (grey), 3 (RGB) or None (grey if every image is), got {channels!r}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise InputError(f"folder {folder} holds no .png, .jpg or .jpeg files; pass a folder of PNG or JPEG "
                         "images, or an IDX file")
    first = _picture(files[0], channels, size)
    size = size or first.shape[:2]
    arrays = [first] + [_picture(file, channels, size) for file in files[1:]]
    images = np.moveaxis(np.stack(arrays), -1, 1)  # (N, H, W, C) -> (N, C, H, W)
    if channels is None and (images == images[:, :1]).all():  # grey images: one channel
        images = images[:, :1]
    return np.ascontiguousarray(images), [f.name for f in files]


read_png_folder = read_image_folder  # the name of earlier releases


def read_images(path: str | os.PathLike, size: tuple[int, int] | None = None,
                channels: int | None = None) -> tuple[np.ndarray, list[str]]:
    """Images ``(N, C, H, W)`` float32 in [0, 1] and their names, from an IDX file or a folder of PNG / JPEG files.

    An IDX file's images are named by their index (``"0"``, ``"1"``, ...), a folder's by their file names; a
    folder's images are resized and converted by :func:`read_image_folder`'s rule (``size``, ``channels``), an
    IDX file's are taken as they are.
    Raises :class:`InputError` for a damaged IDX file or one that holds labels rather than images.
    """
    path = Path(path)
    if path.is_dir():
        return read_image_folder(path, size, channels)
    images = read_idx(path)
    if images.ndim not in (3, 4):
        raise InputError(f"{path} holds an array of shape {images.shape}, not images (N, H, W); is it a labels file?")
    images = images.astype(np.float32) / np.float32(255)
    images = images[:, None] if images.ndim == 3 else images  # (N, H, W) -> (N, 1, H, W)
    return images, [str(i) for i in range(len(images))]


def read_image_labels(path: str | os.PathLike, count: int, normal: list[int] | None = None) -> np.ndarray:
    """0/1 labels ``(count,)`` (1 = anomaly) of ``count`` images, from an IDX labels file or a table.

    A table (CSV or Parquet) gives one label per row in its last column (for a PNG folder: the files in sorted
    name order). ``normal`` names the classes that are normal, so class labels (e.g. MNIST digits) become 0/1;
    without it the labels must already be 0/1. Raises :class:`InputError` for non-numeric or missing values,
    a count that does not match the images, or labels that are not 0/1 when ``normal`` is not given.
    """
    file = Path(path)
    if is_image_data(file) and not file.is_dir():
        values = read_idx(file, ndim=1).astype(np.int64)
    else:
        import pandas as pd

        from reconad.data.tables import load_frame

        frame = load_frame(file)
        values = pd.to_numeric(frame.iloc[:, -1], errors="coerce").to_numpy()
        if np.isnan(values).any():
            raise InputError(f"labels file {file} has non-numeric or missing values in column {frame.columns[-1]!r}")
    if len(values) != count:
        raise InputError(f"labels file {file} has {len(values)} labels but there are {count} images; pass the "
                         "labels of these images, in the same order")
    if normal is not None:
        return (~np.isin(values, normal)).astype(np.int8)
    if not np.isin(values, (0, 1)).all():
        raise InputError(f"labels in {file} are not all 0/1; pass the normal classes (--normal CLASSES on the "
                         "command line, normal= here) to say which classes are normal")
    return values.astype(np.int8)

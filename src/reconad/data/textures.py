"""Validation images that are not strokes: procedural textures with synthetic defects and pixel masks, and
transformed digits.

Why: image defaults chosen on digits learn digits. Users bring fabrics, surfaces and parts, in colour and
larger than 28x28, and want to know *where* the defect is. These generators make such data inside the project
(nothing downloaded, no benchmark label touched), deterministic given a seed:

- :func:`texture`: one 64x64 image of a texture kind (``TEXTURES``: smooth ``noise``, sinusoidal ``stripes``,
  an over-under ``weave``, a wood-like ``grain``), grey ``(1, H, W)`` or coloured through a two-colour palette
  ``(3, H, W)``, values in [0, 1]; every image of a kind differs (phases, jitter, noise) but shares its statistics.
- :func:`add_defect`: a defect (``DEFECTS``: a thin ``scratch``, a round ``spot``, a ``missing`` patch filled
  flat, a colour ``shift`` — channels rotated in colour, brightness moved in grey) painted on a copy of an
  image, with its mask ``(H, W)``: 1 exactly where pixels were painted, so pixels outside the mask are unchanged.
- :func:`texture_suite`: normal training images, and test images (half normal, half defective with every defect
  kind in turn) with labels and masks.
- :func:`inverted_digits` and :func:`digits_on_texture`: digit images turned into other looks (white ink on
  black becomes black on white; ink on a textured background).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.ndimage import gaussian_filter

from reconad.errors import InputError

TEXTURES = ("noise", "stripes", "weave", "grain")
DEFECTS = ("scratch", "spot", "missing", "shift")
SIZE = 64
# two palette colours per texture (RGB in [0, 1]): fabric-, metal- and wood-like, so colour carries information
PALETTES = {
    "noise": ((0.25, 0.30, 0.45), (0.75, 0.78, 0.85)),
    "stripes": ((0.55, 0.10, 0.12), (0.95, 0.85, 0.60)),
    "weave": ((0.20, 0.35, 0.20), (0.70, 0.85, 0.55)),
    "grain": ((0.40, 0.22, 0.10), (0.85, 0.62, 0.38)),
}


def _check_kind(kind: str, known: tuple[str, ...], what: str) -> None:
    if kind not in known:
        raise InputError(f"unknown {what} {kind!r}; choose from {', '.join(known)}")


def _field(rng: np.random.Generator, size: int, sigma: float) -> np.ndarray:
    """Smooth random field ``(size, size)`` of mean 0 and standard deviation 1 (wrapped at the borders)."""
    field = gaussian_filter(rng.standard_normal((size, size)), sigma, mode="wrap")
    return (field - field.mean()) / max(field.std(), 1e-12)


def _intensity(kind: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """The grey texture ``(size, size)`` in [0, 1] before colouring."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    if kind == "noise":
        t = 0.5 + 0.18 * _field(rng, size, 2.0)
    elif kind == "stripes":
        angle = np.deg2rad(30 + rng.uniform(-5, 5))
        period = 8 + rng.uniform(-0.5, 0.5)
        t = 0.5 + 0.38 * np.sin(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / period + rng.uniform(0, 7))
    elif kind == "weave":
        period = 8.0
        sx, sy = x + rng.uniform(0, 2 * period), y + rng.uniform(0, 2 * period)
        warp = 0.5 + 0.5 * np.cos(2 * np.pi * sy / period)  # threads running along x, shaded across
        weft = 0.5 + 0.5 * np.cos(2 * np.pi * sx / period)
        on_top = (np.floor(sx / period) + np.floor(sy / period)) % 2 == 0
        t = 0.15 + 0.7 * np.where(on_top, warp, weft)
    else:  # grain: rings along x, bent by a smooth field
        period = 10 + rng.uniform(-1, 1)
        bend = 5.0 * _field(rng, size, 8.0)
        t = 0.5 + 0.35 * np.sin(2 * np.pi * (y + bend + 0.1 * x) / period + rng.uniform(0, 7))
    return np.clip(t + 0.03 * rng.standard_normal((size, size)), 0, 1)


def texture(kind: str, rng: np.random.Generator, colour: bool = True, size: int = SIZE) -> np.ndarray:
    """One texture image, ``(3, size, size)`` (colour) or ``(1, size, size)`` (grey), float32 in [0, 1]."""
    _check_kind(kind, TEXTURES, "texture")
    t = _intensity(kind, rng, size)
    if not colour:
        return t[None].astype(np.float32)
    low, high = (np.asarray(c) + rng.uniform(-0.03, 0.03, 3) for c in PALETTES[kind])
    image = low[:, None, None] * (1 - t) + high[:, None, None] * t  # (3, H, W)
    return np.clip(image, 0, 1).astype(np.float32)


def _disc(size: int, cy: float, cx: float, radius: float) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size]
    return (y - cy) ** 2 + (x - cx) ** 2 <= radius**2


def _defect_mask(kind: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """Where a defect of ``kind`` lies, ``(size, size)`` bool, away from the border."""
    if kind == "scratch":
        mask = np.zeros((size, size), dtype=bool)
        length, angle = rng.uniform(18, 36), rng.uniform(0, np.pi)
        cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
        for step in np.linspace(-length / 2, length / 2, int(4 * length)):
            py, px = int(round(cy + step * np.sin(angle))), int(round(cx + step * np.cos(angle)))
            mask[max(py, 0) : py + 2, max(px, 0) : px + 1] = True  # about two pixels wide
        return mask
    if kind == "spot":
        return _disc(size, *rng.uniform(10, size - 10, 2), rng.uniform(3, 6))
    if kind == "missing":
        mask = np.zeros((size, size), dtype=bool)
        height, width = rng.integers(8, 17, 2)
        top, left = rng.integers(4, size - 4 - height), rng.integers(4, size - 4 - width)
        mask[top : top + height, left : left + width] = True
        return mask
    return _disc(size, *rng.uniform(16, size - 16, 2), rng.uniform(8, 13))  # shift: a blob


def add_defect(image: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``image`` ``(C, H, W)`` with a defect of ``kind`` painted on, and its mask ``(H, W)`` uint8.

    ``scratch`` and ``spot``: a thin line or a disc, dark on a bright surface and bright on a dark one (a spot
    takes a colour of its own in colour images); ``missing``: a rectangle filled with the image's mean colour;
    ``shift``: a blob whose channels are rotated (colour) or whose brightness moves by 0.3 (grey). Pixels the
    paint leaves as they were (rare: a value that happened to match) are not in the mask.
    """
    _check_kind(kind, DEFECTS, "defect")
    out = image.copy()
    mask = _defect_mask(kind, rng, image.shape[-1])
    region = out[:, mask]  # (C, K)
    if kind in ("scratch", "spot"):
        value = 0.05 if region.mean() > 0.5 else 0.95
        paint = np.full((len(out), 1), value)
        if kind == "spot" and len(out) == 3:
            paint = rng.permutation([0.9, 0.15, value])[:, None]  # a saturated colour
        out[:, mask] = paint
    elif kind == "missing":
        out[:, mask] = out.reshape(len(out), -1).mean(axis=1)[:, None]
    elif len(out) == 3:
        out[:, mask] = region[[1, 2, 0]]
    else:
        out[:, mask] = np.clip(region + (0.3 if region.mean() < 0.5 else -0.3), 0, 1)
    changed = (out != image).any(axis=0)
    return out.astype(np.float32), changed.astype(np.uint8)


class TextureSuite(NamedTuple):
    """Normal training images, test images with 0/1 labels, pixel masks ``(N, H, W)`` and defect names."""

    train: np.ndarray
    test: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    defects: list[str]  # per test image: "" for a normal one


def texture_suite(kind: str, colour: bool, n_train: int = 200, n_test: int = 200, seed: int = 0,
                  size: int = SIZE) -> TextureSuite:
    """A one-class suite of texture ``kind``: ``n_train`` normal images and ``n_test`` test images, the first half
    normal, the second defective with each of :data:`DEFECTS` in turn; deterministic given ``seed``."""
    _check_kind(kind, TEXTURES, "texture")
    rng = np.random.default_rng([seed, TEXTURES.index(kind), int(colour)])
    train = np.stack([texture(kind, rng, colour, size) for _ in range(n_train)])
    test, masks, names = [], [], []
    for i in range(n_test):
        image = texture(kind, rng, colour, size)
        mask, name = np.zeros((size, size), np.uint8), ""
        if i >= n_test // 2:
            name = DEFECTS[i % len(DEFECTS)]
            image, mask = add_defect(image, name, rng)
        test.append(image)
        masks.append(mask)
        names.append(name)
    labels = np.array([int(bool(n)) for n in names], dtype=np.int8)
    return TextureSuite(train, np.stack(test), labels, np.stack(masks), names)


def inverted_digits(images: np.ndarray) -> np.ndarray:
    """Digits ``(N, C, H, W)`` in [0, 1] as dark ink on white: ``1 - x``."""
    return (1.0 - np.asarray(images, dtype=np.float32)).astype(np.float32)


def digits_on_texture(images: np.ndarray, seed: int = 0, kind: str = "noise") -> np.ndarray:
    """Digits ``(N, 1, H, W)`` in [0, 1] as bright ink over a grey texture of ``kind`` (a new one per image), so
    the background varies more, pixel by pixel, than the digits do."""
    images = np.asarray(images, dtype=np.float32)
    rng = np.random.default_rng([seed, 99])
    size = images.shape[-1]
    backgrounds = np.stack([texture(kind, rng, False, size) for _ in range(len(images))])  # (N, 1, S, S)
    backgrounds = 0.1 + 0.5 * backgrounds[..., : images.shape[-2], :]
    return (backgrounds * (1 - images) + images).astype(np.float32)

"""Pixel-level metrics of anomaly maps against ground-truth masks: where in an image the anomaly is.

An image-level ROC-AUC says whether a detector ranks anomalous images first; these say whether its anomaly map
points at the defective pixels. Both take maps ``(N, H, W)`` (higher = more anomalous, e.g.
``ImageDetector.error_map``) and 0/1 masks of the same shape (1 = a defective pixel); one image may be given as
``(H, W)``.

- :func:`pixel_roc_auc`: the ROC-AUC of every pixel of every image pooled into one ranking. Large defects
  dominate it: a detector that finds one big region and misses ten small ones can still read high.
- :func:`pro_auc`: the area under the per-region-overlap curve, the localisation measure MVTec AD reports
  (Bergmann et al., IJCV 2021). Every connected defect region counts once, whatever its size. At a threshold,
  a region's overlap is the share of its pixels whose map value reaches the threshold, and PRO is the mean
  overlap over all regions of all images; the false-positive rate is the share of defect-free pixels (of all
  images) that reach it. PRO is drawn against the false-positive rate as the threshold falls, integrated from 0
  up to ``fpr_limit`` (0.3 by default: past that, most of a defect-free surface is flagged and the map is of no
  use) with the trapezoid rule, the curve interpolated linearly at the limit, and divided by the limit, so that
  a perfect map reads 1. Regions are 8-connected (pixels touching at a corner belong to one region), as in
  MVTec AD's evaluation code.
"""

from __future__ import annotations

import numpy as np

from reconad.errors import InputError
from reconad.metrics.point import roc_auc
from reconad.validation import complex_message

PRO_FPR_LIMIT = 0.3  # MVTec AD's integration limit
_EIGHT_CONNECTED = np.ones((3, 3), dtype=int)


def check_maps(masks, maps) -> tuple[np.ndarray, np.ndarray]:
    """0/1 masks and finite maps of one shape ``(N, H, W)`` as int8 / float64 arrays, or one InputError."""
    for name, values in (("masks", masks), ("anomaly maps", maps)):
        if np.iscomplexobj(values):
            raise InputError(complex_message(name))
    try:
        masks = np.asarray(masks, dtype=np.float64)
        maps = np.asarray(maps, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"masks and anomaly maps must be numeric arrays ({exc})") from exc
    if masks.ndim == 2:
        masks, maps = masks[None], maps[None] if maps.ndim == 2 else maps
    if masks.ndim != 3:
        raise InputError(f"masks must have shape (N, H, W) or (H, W), got {masks.shape}; for maps of several "
                         "channels pass one map per image (e.g. the mean over the channels)")
    if masks.shape != maps.shape:
        raise InputError(f"masks have shape {masks.shape} but the anomaly maps {maps.shape}; pass one map value "
                         "per mask pixel")
    if masks.size == 0:
        raise InputError("masks and anomaly maps are empty; pass at least one pixel")
    if not np.isin(masks, (0, 1)).all():
        raise InputError("masks must be 0 (defect-free pixel) or 1 (defective pixel)")
    if not np.isfinite(maps).all():
        raise InputError("anomaly maps contain NaN or infinite values; score images that are finite in [0, 1]")
    return masks.astype(np.int8), maps


def pixel_roc_auc(masks, maps) -> float:
    """ROC-AUC of all pixels of all images pooled; NaN when the masks hold only one class (undefined then)."""
    masks, maps = check_maps(masks, maps)
    return roc_auc(masks.ravel(), maps.ravel())


def pro_curve(masks, maps) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The per-region-overlap curve: ``(fpr, pro, thresholds)``, one point per distinct map value, highest
    first, after a starting point ``(0, 0)`` at threshold ``+inf``; a pixel is flagged when its value is ``>=``
    the threshold. Raises :class:`InputError` when the masks hold no defect or no defect-free pixel.
    """
    from scipy.ndimage import label

    masks, maps = check_maps(masks, maps)
    weights = np.zeros(masks.shape, dtype=np.float64)  # each defective pixel's share of the mean overlap
    sizes = []
    for i, mask in enumerate(masks):
        regions, count = label(mask, structure=_EIGHT_CONNECTED)
        if count:
            region_sizes = np.bincount(regions.ravel())  # [background, region 1, ...]
            weights[i] = np.where(regions > 0, 1.0 / region_sizes[regions], 0.0)
            sizes += list(region_sizes[1:])
    negatives = int((masks == 0).sum())
    if not sizes or negatives == 0:
        raise InputError("PRO needs masks with at least one defective and one defect-free pixel; pass anomalous "
                         "images with their masks together with normal ones (or normal pixels)")
    order = np.argsort(-maps.ravel(), kind="stable")
    values = maps.ravel()[order]
    pro = np.cumsum(weights.ravel()[order]) / len(sizes)
    fpr = np.cumsum(masks.ravel()[order] == 0) / negatives
    last = np.flatnonzero(np.diff(values, append=-np.inf) != 0)  # the last pixel of each run of equal values
    return (np.concatenate(([0.0], fpr[last])), np.concatenate(([0.0], pro[last])),
            np.concatenate(([np.inf], values[last])))


def pro_auc(masks, maps, fpr_limit: float = PRO_FPR_LIMIT) -> float:
    """Normalised area under the PRO curve up to ``fpr_limit`` (MVTec AD's AU-PRO, 0.3 by default): 1 for a map
    that flags every defect region entirely before any defect-free pixel. See the module's notes."""
    if not (isinstance(fpr_limit, (int, float)) and 0 < fpr_limit <= 1):
        raise InputError(f"fpr_limit must be a number in (0, 1], got {fpr_limit!r}")
    fpr, pro, _ = pro_curve(masks, maps)
    inside = fpr <= fpr_limit
    x, y = fpr[inside], pro[inside]
    if x[-1] < fpr_limit:  # interpolate the curve at the limit, between the last point inside and the next
        after = int(np.flatnonzero(~inside)[0])
        share = (fpr_limit - fpr[after - 1]) / (fpr[after] - fpr[after - 1])
        x = np.append(x, fpr_limit)
        y = np.append(y, pro[after - 1] + share * (pro[after] - pro[after - 1]))
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2) / fpr_limit)

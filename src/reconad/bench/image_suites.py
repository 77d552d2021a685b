"""The ``image-suites`` benchmark: ImageDetector's defaults on images that are not the digits they were chosen on.

Suites (see :mod:`reconad.data.textures`): the four procedural textures, in colour and in grey (64x64; 200
normal training images; 200 test images, half with a scratch, spot, missing patch or colour shift and its pixel
mask), and two transformed-digit suites built from MNIST's training split (``digits-inverted``: dark ink on
white; ``digits-textured``: ink over a noise texture), one-class per digit (each listed digit in turn normal:
``n_digit_train`` of its images to train on; ``n_digit_test`` images of every digit to test, the other digits
anomalies), their ROC-AUC averaged over the digits.

Per suite, on the identical split and in the same run: ``ImageDetector(random_state=0)`` (its defaults), the
raw-pixel 5-nearest-neighbour distance (the mean Euclidean distance to the 5 nearest training images) and
IsolationForest (scikit-learn's defaults, ``random_state=0``) on the raw pixels: image-level ROC-AUC. Where masks
exist, pixel ROC-AUC and PRO (``reconad.metrics``) of reconad's anomaly map (``error_map``) and of the raw-pixel
5-NN map (the squared difference to the mean of the 5 nearest training images, averaged over the channels).
Test labels and masks are used for nothing but these metrics.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from reconad.bench.results import markdown_table

TEXTURE_SUITES = tuple(f"{kind}-{look}" for kind in ("noise", "stripes", "weave", "grain")
                       for look in ("colour", "grey"))
DIGIT_SUITES = ("digits-inverted", "digits-textured")
SUITES = TEXTURE_SUITES + DIGIT_SUITES
METHODS = ("reconad", "knn5", "IsolationForest")
K = 5


def knn_scores(train: np.ndarray, test: np.ndarray, k: int = K) -> tuple[np.ndarray, np.ndarray]:
    """Raw-pixel k-NN: each test image's mean Euclidean distance to its ``k`` nearest training images ``(N,)``,
    and its map ``(N, H, W)``: the squared difference to the mean of those neighbours, averaged over channels."""
    from sklearn.neighbors import NearestNeighbors

    flat_train, flat_test = train.reshape(len(train), -1), test.reshape(len(test), -1)
    distances, index = NearestNeighbors(n_neighbors=min(k, len(train))).fit(flat_train).kneighbors(flat_test)
    maps = ((test - train[index].mean(axis=1)) ** 2).mean(axis=1)  # (N, C, H, W) -> (N, H, W)
    return distances.mean(axis=1), maps


def _methods(train: np.ndarray, test: np.ndarray, labels: np.ndarray, masks, epochs: int | None) -> dict:
    """ROC-AUC of every method on one split, and pixel metrics where ``masks`` are given."""
    from sklearn.ensemble import IsolationForest

    from reconad.detectors import ImageDetector
    from reconad.metrics import pixel_roc_auc, pro_auc, roc_auc

    row: dict = {}
    det = ImageDetector(random_state=0, verbose=False)
    if epochs is not None:
        det.set_params(epochs=epochs)
    started = time.perf_counter()
    det.fit(train)
    row["reconad_s"] = time.perf_counter() - started
    row["reconad"] = roc_auc(labels, det.anomaly_score(test))
    knn, knn_maps = knn_scores(train, test)
    row["knn5"] = roc_auc(labels, knn)
    forest = IsolationForest(random_state=0).fit(train.reshape(len(train), -1))
    row["IsolationForest"] = roc_auc(labels, -forest.score_samples(test.reshape(len(test), -1)))
    if masks is not None:
        maps = det.error_map(test)
        row["reconad_pixel_roc_auc"], row["reconad_pro"] = pixel_roc_auc(masks, maps), pro_auc(masks, maps)
        row["knn5_pixel_roc_auc"], row["knn5_pro"] = pixel_roc_auc(masks, knn_maps), pro_auc(masks, knn_maps)
    return row


def _texture_row(name: str, epochs, n_train: int, n_test: int) -> dict:
    from reconad.data.textures import DEFECTS, texture_suite

    kind, look = name.split("-")
    suite = texture_suite(kind, look == "colour", n_train=n_train, n_test=n_test)
    row = {"suite": name, "n_train": len(suite.train), "n_test": len(suite.test),
           **_methods(suite.train, suite.test, suite.labels, suite.masks, epochs)}
    row["defects"] = {d: int(sum(n == d for n in suite.defects)) for d in DEFECTS}
    return row


def _digit_row(name: str, epochs, digits: Sequence[int], root, n_train: int, n_test: int) -> dict:
    from reconad.data.images import load_mnist
    from reconad.data.textures import digits_on_texture, inverted_digits

    data = load_mnist(root)
    rng = np.random.default_rng(0)
    pool = rng.permutation(len(data.train_images))  # MNIST's training split only: the test split stays untouched
    test_index = pool[:n_test]
    transform = inverted_digits if name == "digits-inverted" else (lambda x: digits_on_texture(x, seed=0))
    test, test_digits = transform(data.train_images[test_index]), data.train_labels[test_index]
    per_digit = []
    for digit in digits:
        candidates = pool[n_test:][data.train_labels[pool[n_test:]] == digit][:n_train]
        labels = (test_digits != digit).astype(np.int8)
        per_digit.append({"digit": int(digit), **_methods(transform(data.train_images[candidates]), test, labels,
                                                           None, epochs)})
    row = {"suite": name, "n_train": n_train, "n_test": n_test, "digits": per_digit}
    for key in (*METHODS, "reconad_s"):
        row[key] = float(np.mean([d[key] for d in per_digit]))
    return row


def run(names: Sequence[str] | None = None, epochs: int | None = None, digits: Sequence[int] | None = None,
        root=None, progress=None, n_train: int = 200, n_test: int = 200, n_digit_train: int = 500,
        n_digit_test: int = 1000) -> dict:
    """Run the suites ``names`` (default all of :data:`SUITES`); a digit suite whose MNIST files are missing is
    recorded as skipped."""
    from reconad.bench.results import torch_threads
    from reconad.errors import InputError

    names = list(names or SUITES)
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        raise ValueError(f"unknown image suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    rows, skipped = [], {}
    with torch_threads(1):
        for name in names:
            started = time.perf_counter()
            try:
                if name in TEXTURE_SUITES:
                    row = _texture_row(name, epochs, n_train, n_test)
                else:
                    row = _digit_row(name, epochs, digits or range(10), root, n_digit_train, n_digit_test)
            except InputError as exc:  # no MNIST files here
                skipped[name] = str(exc)
                continue
            row["seconds"] = time.perf_counter() - started
            rows.append(row)
            if progress:
                progress(f"{name}: reconad {row['reconad']:.3f}, 5-NN {row['knn5']:.3f}, IsolationForest "
                         f"{row['IsolationForest']:.3f} ({row['seconds']:.0f} s)")
    return {"rows": rows, "skipped": skipped, "epochs_override": epochs}


def _gap(row: dict) -> str:
    gap = row["reconad"] - row["knn5"]
    return f"{gap:+.3f}" + ("" if gap >= 0 else " **below**")


def markdown(payload: dict) -> str:
    rows = payload["rows"]
    lines = ["# Image validation suites: `ImageDetector(random_state=0)` defaults on images that are not strokes",
             "", "`reconad bench image-suites` (or `python benchmarks/image_suites.py`). Textures: 64x64, 200 normal "
             "training images, 200 test images (half with a scratch, spot, missing patch or colour shift, with "
             "pixel masks). Digits: MNIST's training split transformed, one-class per digit, the mean over digits. "
             "Peers on the identical split in the same run: raw-pixel 5-NN distance and IsolationForest. Image-level "
             "ROC-AUC; pixel ROC-AUC and PRO (to FPR 0.3) of the anomaly maps where masks exist.", ""]
    table = []
    for r in rows:
        pixel = [r.get(k) for k in ("reconad_pixel_roc_auc", "knn5_pixel_roc_auc", "reconad_pro", "knn5_pro")]
        table.append([r["suite"], *[r[m] for m in METHODS], _gap(r), *pixel, f"{r['seconds']:.0f}"])
    if rows:
        means = [float(np.mean([r[m] for r in rows])) for m in METHODS]
        table.append(["**mean**", *means, f"{means[0] - means[1]:+.3f}", None, None, None, None,
                      f"{sum(r['seconds'] for r in rows):.0f}"])
    lines.append(markdown_table(["suite", "reconad ROC-AUC", "raw 5-NN", "IsolationForest", "reconad - 5-NN",
                                 "reconad pixel ROC-AUC", "5-NN pixel ROC-AUC", "reconad PRO", "5-NN PRO", "s"],
                                table))
    for r in rows:
        if "digits" in r:
            lines += [f"{r['suite']} per digit (reconad / raw 5-NN / IsolationForest):", "",
                      markdown_table(["digit", *METHODS], [[d["digit"], *[d[m] for m in METHODS]]
                                                          for d in r["digits"]])]
    for name, why in payload.get("skipped", {}).items():
        lines.append(f"Skipped {name}: {why}")
    override = payload.get("epochs_override")
    lines += ["", f"Epochs: {'the defaults (20)' if override is None else override}. Machine: "
              f"{payload.get('machine')}", ""]
    return "\n".join(lines)

"""How ImageDetector's defaults were chosen: an ablation on data that is never the MNIST test split.

Three one-class suites, each class in turn the only normal one, every other class an anomaly, ROC-AUC:

- ``mnist-val``: MNIST *training* images only: 12,000 of them (fixed permutation, seed 12345) are the
  evaluation set, a digit's remaining training images are its normal training set;
- ``digits8x8``: scikit-learn's 8x8 digits, a fixed half for training and the other half for evaluation;
- ``shapes``: synthetic 28x28 shapes of our own (disc, ring, square, triangle, cross, bar) at random sizes,
  positions, stroke widths and brightness, with noise.

Every row is ``ImageDetector(random_state=0, **row)``: defaults plus the settings named, through the public API.

    python benchmarks/image_design.py [--workers 2] [--suites mnist-val digits8x8 shapes]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, markdown_table, write_results  # noqa: E402

ROWS = {  # name -> settings over the defaults
    "slides MLP (mnist-slides preset)": dict(model="mlp", latent_dim=64, transforms=None, error="mse", density=None,
                                             epochs=5, batch_size=32),
    "deep-lrelu, squared error": dict(error="mse", density=None),
    "deep-lrelu, blurred cosine error": dict(density=None),
    "deep-lrelu, blurred cosine + latent kNN (defaults)": dict(),
    "defaults, latent 16": dict(latent_dim=16),
    "defaults, 5 epochs": dict(epochs=5),
    "conv-bn, rotation restoration, blurred error": dict(model="conv-bn", latent_dim=32, transforms="rotate",
                                                         error="blur", density=None, epochs=10),
}
DEFAULT_ROWS = [row for row in ROWS if not row.startswith("conv-bn")]  # the restoration row costs 7x the others
SHAPES = ("disc", "ring", "square", "triangle", "cross", "bar")


def shapes(n_per_class: int = 1500, size: int = 28, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic one-shape-per-image set ``(N, 1, size, size)`` in [0, 1] and labels (index into SHAPES)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    images, labels = [], []
    for label, shape in enumerate(SHAPES):
        for _ in range(n_per_class):
            cy, cx = rng.uniform(9, size - 9, 2)
            r = rng.uniform(5, 8)
            width = rng.uniform(1.2, 2.5)
            angle = rng.uniform(0, np.pi)
            u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)  # rotated coordinates
            v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
            d = np.hypot(xx - cx, yy - cy)
            if shape == "disc":
                mask = d <= r
            elif shape == "ring":
                mask = np.abs(d - r) <= width / 2
            elif shape == "square":
                mask = (np.abs(u) <= r * 0.8) & (np.abs(v) <= r * 0.8)
            elif shape == "triangle":
                mask = (v >= -r * 0.6) & (v <= r * 0.9 - 1.7 * np.abs(u))
            elif shape == "cross":
                mask = ((np.abs(u) <= width / 2) | (np.abs(v) <= width / 2)) & (np.maximum(np.abs(u), np.abs(v)) <= r)
            else:  # bar
                mask = (np.abs(v) <= width) & (np.abs(u) <= r)
            image = mask * rng.uniform(0.5, 1.0) + rng.normal(0, 0.05, (size, size))
            images.append(np.clip(image, 0, 1).astype(np.float32))
            labels.append(label)
    return np.stack(images)[:, None], np.array(labels)


def suite(name: str):
    """(train images, train labels, evaluation images, evaluation labels, classes) of a suite."""
    if name == "mnist-val":
        from reconad.data import load_mnist

        data = load_mnist()
        order = np.random.default_rng(12345).permutation(len(data.train_images))
        ev, tr = order[:12000], order[12000:]
        return data.train_images[tr], data.train_labels[tr], data.train_images[ev], data.train_labels[ev], range(10)
    if name == "digits8x8":
        from reconad.data import load_digits_images

        images, labels = load_digits_images()
        order = np.random.default_rng(0).permutation(len(images))
        half = len(images) // 2
        tr, ev = order[:half], order[half:]
        return images[tr], labels[tr], images[ev], labels[ev], range(10)
    images, labels = shapes()
    order = np.random.default_rng(1).permutation(len(images))
    cut = int(len(images) * 0.6)
    tr, ev = order[:cut], order[cut:]
    return images[tr], labels[tr], images[ev], labels[ev], range(len(SHAPES))


def run(row: str, suite_name: str, cls: int) -> dict:
    import torch

    from reconad import ImageDetector
    from reconad.metrics import roc_auc

    torch.set_num_threads(1)
    train_x, train_y, eval_x, eval_y, _ = suite(suite_name)
    started = time.perf_counter()
    det = ImageDetector(random_state=0, device="cpu", verbose=False, **ROWS[row]).fit(train_x[train_y == cls])
    auc = roc_auc((eval_y != cls).astype(np.int8), det.anomaly_score(eval_x))
    seconds = time.perf_counter() - started
    return {"row": row, "suite": suite_name, "class": int(cls), "roc_auc": auc, "seconds": seconds}


def markdown(payload: dict) -> str:
    results = payload["results"]
    suites = payload["suites"]
    lines = ["# Choosing ImageDetector's defaults (never on the MNIST test split)", "",
             "`python benchmarks/image_design.py` — mean one-class ROC-AUC over the classes of each suite; "
             "`ImageDetector(random_state=0, **row)`. mnist-val: MNIST training images only (12,000 held out "
             "as the evaluation set); digits8x8: scikit-learn's digits, half/half; shapes: synthetic 28x28 shapes.",
             ""]
    table = []
    for row in payload["rows"]:
        cells = []
        for name in suites:
            aucs = [r["roc_auc"] for r in results if r["row"] == row and r["suite"] == name]
            cells.append(f"{np.mean(aucs):.4f}" if aucs else "")
        seconds = [r["seconds"] for r in results if r["row"] == row and r["suite"] == suites[0]]
        table.append([row, *cells, f"{np.mean(seconds):.0f}" if seconds else ""])
    lines.append(markdown_table(["settings over the defaults", *suites, f"s per class ({suites[0]})"], table))
    lines += ["Per class (mnist-val):", ""]
    per = []
    for row in payload["rows"]:
        aucs = {r["class"]: r["roc_auc"] for r in results if r["row"] == row and r["suite"] == suites[0]}
        per.append([row, *[f"{aucs[c]:.3f}" if c in aucs else "" for c in range(10)]])
    lines.append(markdown_table(["row", *[str(c) for c in range(10)]], per))
    lines += [f"Wall time {payload['wall_s'] / 60:.1f} min, {payload['workers']} worker processes of one thread.", "",
              f"Machine: {payload['machine']}", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--suites", nargs="+", default=["mnist-val", "digits8x8", "shapes"])
    parser.add_argument("--rows", nargs="+", default=DEFAULT_ROWS)
    args = parser.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = "1"
    tasks = [(row, name, cls) for name in args.suites for row in args.rows for cls in suite(name)[4]]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        results = pool.starmap(run, tasks, chunksize=1)
    payload = {"results": results, "suites": args.suites, "rows": args.rows, "wall_s": time.perf_counter() - started,
               "workers": args.workers, "machine": machine()}
    md = markdown(payload)
    write_results("image_design", payload, md)
    print(md)


if __name__ == "__main__":
    main()

"""The slides' MLP through the public API only: the ``mnist-slides`` preset, defaults for everything else.

    ImageDetector.from_preset("mnist-slides", random_state=s).fit(normal_train)
    # = ImageDetector(model="mlp", latent_dim=64, transforms=None, error="mse", density=None, epochs=5,
    #                 batch_size=32, lr=1e-3)

then ``anomaly_score`` on the slides' test half (MNIST test split filtered to normal + anomaly digit 0, first
half), seeds 0-2, last epoch (no validation data). Unlike ``reconad experiment mnist-course`` this keeps the
default ``calibration_split=0.1`` (10% of the normal training images held out for the threshold).

    OMP_NUM_THREADS=1 python benchmarks/mnist_public_api.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, markdown_table, write_results  # noqa: E402

from reconad import ImageDetector  # noqa: E402
from reconad.data import load_mnist  # noqa: E402
from reconad.metrics import roc_auc  # noqa: E402

SETTINGS = [([1], 64, 1.000), ([1, 2], 64, 0.985), ([1, 2, 3, 4, 5], 64, 0.829)]


def main() -> None:
    train_x, train_y, test_x, test_y = load_mnist()
    rows, runs = [], []
    for normal, latent, reference in SETTINGS:
        keep = np.isin(test_y, [*normal, 0])
        x, y = test_x[keep], (test_y[keep] == 0).astype(int)
        half = len(x) // 2
        aucs = []
        for seed in (0, 1, 2):
            det = ImageDetector.from_preset("mnist-slides", latent_dim=latent, random_state=seed, verbose=False)
            det.fit(train_x[np.isin(train_y, normal)])
            aucs.append(roc_auc(y[:half], det.anomaly_score(x[:half])))
        runs.append({"normal": normal, "latent_dim": latent, "seeds": [0, 1, 2], "roc_auc": aucs,
                     "mean": float(np.mean(aucs)), "reference": reference})
        rows.append(["{" + ",".join(map(str, normal)) + "}", latent, *[f"{a:.4f}" for a in aucs],
                     f"{np.mean(aucs):.4f}", f"{reference:.3f}", f"{np.mean(aucs) - reference:+.4f}"])
    md = ("# The slides' MLP through the public API (defaults otherwise)\n\n"
          "`OMP_NUM_THREADS=1 python benchmarks/mnist_public_api.py` — anomaly digit 0, test half, last epoch, "
          "`calibration_split=0.1` (the default).\n\n"
          + markdown_table(["normal", "latent", "seed 0", "seed 1", "seed 2", "mean", "reference", "gap"], rows)
          + f"\nMachine: {machine()}\n")
    write_results("mnist_public_api", {"runs": runs, "machine": machine()}, md)
    print(md)


if __name__ == "__main__":
    main()

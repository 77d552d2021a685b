"""One-class MNIST with ``ImageDetector(random_state=0)`` and nothing else, next to IsolationForest and PCA.

Protocol (the standard one): each digit in turn is the only normal class; the detector trains on all of that
digit's training images (``fit`` holds 10% of them out for the label-free threshold, its default); the 10,000
test images are scored and every other digit is an anomaly; ROC-AUC per digit and the mean over the ten.
Test labels are used for nothing but the final ROC-AUC: no checkpoint, early stop or threshold sees them.

Peers on the identical split, in the same run: scikit-learn's IsolationForest (``random_state=0``, defaults)
and PCA reconstruction (components keeping 90% of the training variance; score = squared reconstruction
error), both on the raw 784 pixels.

Digits run in ``--workers`` processes at once (one torch thread each; the machine has two cores); the sweep's
wall time is the whole run's.

    python benchmarks/mnist_oneclass.py [--workers 2] [--digits 0 1 ... 9] [--device cpu] [--seeds 0 1 2]
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


def run_digit(digit: int, device: str, seed: int = 0) -> dict:
    import torch
    from sklearn.decomposition import PCA
    from sklearn.ensemble import IsolationForest

    from reconad import ImageDetector
    from reconad.data import load_mnist
    from reconad.metrics import roc_auc

    torch.set_num_threads(1)
    data = load_mnist()
    train = data.train_images[data.train_labels == digit]
    labels = (data.test_labels != digit).astype(np.int8)  # test labels: for the ROC-AUC below, nothing else
    row = {"digit": digit, "seed": seed, "n_train": len(train)}

    det = ImageDetector(random_state=seed, device=device, verbose=False)
    started = time.perf_counter()
    det.fit(train)
    row["reconad_fit_s"] = time.perf_counter() - started
    started = time.perf_counter()
    scores = det.anomaly_score(data.test_images)
    row["reconad_score_s"] = time.perf_counter() - started
    row["reconad"] = roc_auc(labels, scores)
    if seed != 0:  # the peers are deterministic given random_state=0: measured once
        return row

    flat_train, flat_test = train.reshape(len(train), -1), data.test_images.reshape(len(data.test_images), -1)
    started = time.perf_counter()
    forest = IsolationForest(random_state=0).fit(flat_train)
    row["IsolationForest"] = roc_auc(labels, -forest.score_samples(flat_test))
    row["IsolationForest_s"] = time.perf_counter() - started
    started = time.perf_counter()
    pca = PCA(n_components=0.9, svd_solver="full", random_state=0).fit(flat_train)
    recon = pca.inverse_transform(pca.transform(flat_test))
    row["PCA"] = roc_auc(labels, ((recon - flat_test) ** 2).sum(axis=1))
    row["PCA_s"] = time.perf_counter() - started
    return row


def markdown(payload: dict) -> str:
    every = payload["rows"]
    rows = sorted((r for r in every if r["seed"] == 0), key=lambda r: r["digit"])
    names = ["reconad", "IsolationForest", "PCA"]
    lines = ["# One-class MNIST: `ImageDetector(random_state=0)` defaults", "",
             "`python benchmarks/mnist_oneclass.py` — each digit alone is the normal class (all its training "
             "images), the 10,000 test images are scored, the other digits are anomalies; ROC-AUC. Peers on the "
             "identical split in the same run: IsolationForest (scikit-learn defaults) and PCA reconstruction "
             "(90% of the variance), on raw pixels.", ""]
    table = [[r["digit"], *[f"{r[n]:.4f}" for n in names], f"{r['reconad_fit_s']:.0f}", f"{r['reconad_score_s']:.1f}"]
             for r in rows]
    table.append(["**mean**", *[f"**{np.mean([r[n] for r in rows]):.4f}**" for n in names],
                  f"{np.mean([r['reconad_fit_s'] for r in rows]):.0f}",
                  f"{np.mean([r['reconad_score_s'] for r in rows]):.1f}"])
    lines.append(markdown_table(["digit", "reconad ROC-AUC", "IsolationForest", "PCA", "reconad fit s",
                                 "reconad score s"], table))
    seeds = sorted({r["seed"] for r in every})
    if len(seeds) > 1:
        lines += ["Other seeds (`ImageDetector(random_state=s)`; the table above is seed 0):", ""]
        spread = []
        for seed in seeds:
            mine = sorted((r for r in every if r["seed"] == seed), key=lambda r: r["digit"])
            mean = np.mean([r["reconad"] for r in mine])
            spread.append([seed, *[f"{r['reconad']:.4f}" for r in mine], f"{mean:.4f}"])
        lines.append(markdown_table(["seed", *[str(r["digit"]) for r in rows], "mean"], spread))
    lines += [f"Sweep wall time: {payload['wall_s'] / 60:.1f} min for {len(every)} runs ({len(rows)} digits x "
              f"{len(seeds)} seeds) with {payload['workers']} worker processes of one thread each on the "
              f"{payload['device']} ({payload['machine']['cpu_count']} cores), about "
              f"{payload['wall_s'] / 60 / len(seeds):.1f} min per 10-digit sweep; fit and score seconds are per "
              "digit, inside a worker.", "",
              f"Machine: {payload['machine']}", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--digits", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="random_state values (peers: seed 0 only)")
    parser.add_argument("--name", default="mnist_oneclass", help="results file stem")
    args = parser.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = "1"
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        rows = pool.starmap(run_digit, [(d, args.device, s) for s in args.seeds for d in args.digits], chunksize=1)
    payload = {"rows": rows, "wall_s": time.perf_counter() - started, "workers": args.workers,
               "device": args.device, "machine": machine()}
    md = markdown(payload)
    write_results(args.name, payload, md)
    print(md)


if __name__ == "__main__":
    main()

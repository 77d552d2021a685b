"""The two MNIST benchmarks: the lecture slides' grid, and one-class MNIST with ``ImageDetector``'s defaults.

- ``mnist-course``: :func:`reconad.course.mnist_course` (anomaly digit 0; normal {1}, {1, 2}, {1, ..., 5}; models
  mlp, deep and conv; latent 64 and 4; seeds 0-2; 5 epochs), next to the reference numbers of a script copy of
  the slides. With an output folder it also writes ``mnist_course.csv`` and ``mnist_course_figures/``.
- ``mnist-oneclass``: each digit in turn is the only normal class; ``ImageDetector(random_state=seed)`` trains on
  all of its training images (holding 10% out for the label-free threshold); the 10,000 test images are scored
  and every other digit is an anomaly; ROC-AUC per digit and the mean. Peers on the identical split, in the same
  run: scikit-learn's IsolationForest (``random_state=0``) and PCA reconstruction (components keeping 90% of the
  training variance), on the raw 784 pixels. Test labels are used for nothing but the final ROC-AUC. Digits run
  in ``workers`` processes of one torch thread each.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Sequence

import numpy as np

from reconad.bench.results import markdown_table

PEERS = ("IsolationForest", "PCA")


def run_course(epochs: int | None = None, seeds: Sequence[int] | None = None, root=None, out_dir=None,
               progress=None) -> dict:
    """The ``mnist-course`` suite: the slides' grid (CSV and figures go to ``out_dir`` when given)."""
    from reconad.course import SEEDS, mnist_course
    from reconad.data.images import load_mnist

    data = load_mnist(root)
    epochs = 5 if epochs is None else epochs
    table = mnist_course(epochs=epochs, seeds=tuple(seeds or SEEDS), data=data, out_dir=out_dir,
                         verbose=progress is not None)
    comparable = len(data.train_images) == 60000 and epochs == 5
    return {"protocol": "course", "epochs": epochs, "comparable": comparable, "rows": table.to_dict("records")}


def course_markdown(payload: dict) -> str:
    import pandas as pd

    from reconad.course import course_markdown as table_markdown

    command = "\n`reconad bench mnist-course` (or `python benchmarks/mnist_course.py`).\n\n"
    return table_markdown(pd.DataFrame(payload["rows"]), payload["comparable"]) + (
        f"{command}Machine: {payload.get('machine')}\n")


def oneclass_digit(digit: int, device: str = "cpu", seed: int = 0, root=None, epochs: int | None = None) -> dict:
    """One digit as the normal class: reconad's defaults and (seed 0 only) the two peers."""
    import torch
    from sklearn.decomposition import PCA
    from sklearn.ensemble import IsolationForest

    from reconad.data.images import load_mnist
    from reconad.detectors import ImageDetector
    from reconad.metrics import roc_auc

    torch.set_num_threads(1)  # a worker process of its own
    data = load_mnist(root)
    train = data.train_images[data.train_labels == digit]
    labels = (data.test_labels != digit).astype(np.int8)  # test labels: for the ROC-AUC below, nothing else
    row = {"digit": digit, "seed": seed, "n_train": len(train)}
    det = ImageDetector(random_state=seed, device=device, verbose=False)
    if epochs is not None:
        det.set_params(epochs=epochs)
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


def run_oneclass(digits: Sequence[int] | None = None, seeds: Sequence[int] | None = None, workers: int = 2,
                 device: str = "cpu", epochs: int | None = None, root=None, progress=None) -> dict:
    """The ``mnist-oneclass`` suite: every (seed, digit) in ``workers`` spawned processes (1: in this one)."""
    jobs = [(d, device, s, root, epochs) for s in (seeds or (0,)) for d in (digits or range(10))]
    started = time.perf_counter()
    if workers <= 1:
        rows = [oneclass_digit(*job) for job in jobs]
    else:
        saved = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = "1"  # inherited by the spawned workers
        try:
            with multiprocessing.get_context("spawn").Pool(workers) as pool:
                rows = pool.starmap(oneclass_digit, jobs, chunksize=1)
        finally:
            if saved is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = saved
    if progress:
        progress(f"{len(rows)} runs in {time.perf_counter() - started:.0f} s")
    return {"rows": rows, "wall_s": time.perf_counter() - started, "workers": workers, "device": device,
            "epochs_override": epochs}


def oneclass_markdown(payload: dict) -> str:
    every = payload["rows"]
    rows = sorted((r for r in every if r["seed"] == 0), key=lambda r: r["digit"])
    names = ["reconad", *PEERS] if rows and "PCA" in rows[0] else ["reconad"]
    lines = ["# One-class MNIST: `ImageDetector(random_state=0)` defaults", "",
             "`reconad bench mnist-oneclass` (or `python benchmarks/mnist_oneclass.py`) — each digit alone is the "
             "normal class (all its training images), the 10,000 test images are scored, the other digits are "
             "anomalies; ROC-AUC. Peers on the identical split in the same run: IsolationForest (scikit-learn "
             "defaults) and PCA reconstruction (90% of the variance), on raw pixels.", ""]
    if rows:
        table = [[r["digit"], *[f"{r[n]:.4f}" for n in names], f"{r['reconad_fit_s']:.0f}",
                  f"{r['reconad_score_s']:.1f}"] for r in rows]
        table.append(["**mean**", *[f"**{np.mean([r[n] for r in rows]):.4f}**" for n in names],
                      f"{np.mean([r['reconad_fit_s'] for r in rows]):.0f}",
                      f"{np.mean([r['reconad_score_s'] for r in rows]):.1f}"])
        lines.append(markdown_table(["digit", "reconad ROC-AUC", *names[1:], "reconad fit s", "reconad score s"],
                                    table))
    seeds = sorted({r["seed"] for r in every})
    if len(seeds) > 1:
        lines += ["Other seeds (`ImageDetector(random_state=s)`; the table above is seed 0):", ""]
        spread = []
        for seed in seeds:
            mine = sorted((r for r in every if r["seed"] == seed), key=lambda r: r["digit"])
            mean = np.mean([r["reconad"] for r in mine])
            spread.append([seed, *[f"{r['reconad']:.4f}" for r in mine], f"{mean:.4f}"])
        digits = sorted({r["digit"] for r in every})
        lines.append(markdown_table(["seed", *[str(d) for d in digits], "mean"], spread))
    machine = payload.get("machine") or {}
    lines += [f"Sweep wall time: {payload['wall_s'] / 60:.1f} min for {len(every)} runs with {payload['workers']} "
              f"worker processes of one thread each on the {payload['device']} ({machine.get('cpu_count')} cores); "
              "fit and score seconds are per digit, inside a worker.", "", f"Machine: {machine}", ""]
    return "\n".join(lines)

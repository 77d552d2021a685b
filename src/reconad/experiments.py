"""Grids of runs that reproduce the course's MNIST experiments and return tidy result tables.

- :func:`mnist_course` (in :mod:`reconad.course`): the lecture's protocol, normal digits against digit 0.
- :func:`mnist_oneclass`: each digit alone is normal (all its training images); all 10,000 test images are
  scored and the other nine digits are the anomalies.
- :func:`image_demo`: a few-second one-class run on scikit-learn's 8x8 digits (no files) for ``reconad demo``.

Each grid returns a pandas DataFrame with one row per run; with ``out_dir`` it also writes CSV, Markdown and
figures there. The ``reconad experiment`` command that runs them is :mod:`reconad.commands.experiment`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from reconad.bench.results import torch_threads
from reconad.course import (
    DEEP_LAYERS,
    check_image_models,
    course_markdown,
    course_split,
    example_indices,
    mnist_course,
)
from reconad.data.images import ImageData, load_mnist
from reconad.metrics import roc_auc

__all__ = ["course_markdown", "course_split", "image_demo", "mnist_course", "mnist_oneclass", "oneclass_markdown"]


def mnist_oneclass(
    *,
    epochs: int = 5,
    seeds: Sequence[int] = (0,),
    models: Sequence[str] = ("mlp", "conv"),
    latent_dims: Sequence[int] = (64,),
    digits: Sequence[int] = tuple(range(10)),
    batch_size: int = 32,
    lr: float = 1e-3,
    data: ImageData | None = None,
    out_dir: str | Path | None = None,
    threads: int | None = 1,
    verbose: bool = False,
) -> pd.DataFrame:
    """Each digit alone as the normal class; every test image scored, the other digits anomalous.

    Returns one row per (digit, model, latent size, seed) with the test ROC-AUC of the last epoch; with
    ``out_dir`` writes ``mnist_oneclass.csv`` and ``mnist_oneclass.md`` (per-digit AUCs and their mean).
    """
    from reconad.detectors import ImageDetector
    from reconad.training import progress

    check_image_models(models)
    data = load_mnist() if data is None else data
    grid = [(m, d, s, digit) for m in models for d in latent_dims for s in seeds for digit in digits]
    rows = []
    with torch_threads(threads):
        for model, latent, seed, digit in progress(grid, verbose, desc="mnist-oneclass", unit="run"):
            train = data.train_images[data.train_labels == digit]
            labels = (data.test_labels != digit).astype(np.int8)
            detector = ImageDetector(model, latent_dim=latent, num_layers=DEEP_LAYERS if model == "deep" else None,
                                     transforms=None, error="mse", density=None, epochs=epochs, batch_size=batch_size,
                                     lr=lr, calibration_split=0, random_state=seed, device="cpu", verbose=False)
            started = time.perf_counter()
            detector.fit(train)
            seconds = time.perf_counter() - started
            scores = detector.anomaly_score(data.test_images)
            rows.append({
                "digit": digit, "model": model, "latent_dim": latent, "seed": seed, "epochs": epochs,
                "test_auc": roc_auc(labels, scores), "normal_score": float(scores[labels == 0].mean()),
                "anomaly_score": float(scores[labels == 1].mean()),
                "parameters": sum(p.numel() for p in detector.model_.parameters()), "seconds": seconds,
                "n_train": len(train),
            })
    table = pd.DataFrame(rows)
    if out_dir is not None:
        from reconad.atomic import atomic_write_bytes

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out / "mnist_oneclass.csv", table.to_csv(index=False).encode())
        atomic_write_bytes(out / "mnist_oneclass.md", oneclass_markdown(table).encode())
    return table


def oneclass_markdown(table: pd.DataFrame) -> str:
    wide = table.pivot_table(index=["model", "latent_dim", "seed"], columns="digit", values="test_auc")
    digits = list(wide.columns)
    lines = [
        "# MNIST one-class experiments",
        "",
        "Each digit alone is the normal class (all its training images); all test images are scored and the",
        f"other digits are the anomalies. {int(table['epochs'].iloc[0])} epochs, batch 32, Adam 1e-3, "
        "score = per-image MSE, test ROC-AUC of the last epoch.",
        "",
        "| model | latent | seed | " + " | ".join(f"digit {d}" for d in digits) + " | mean |",
        "|" + "---|" * (len(digits) + 4),
    ]
    for (model, latent, seed), row in wide.iterrows():
        cells = [f"{row[d]:.3f}" for d in digits]
        lines.append(f"| {model} | {latent} | {seed} | " + " | ".join(cells) + f" | {row.mean():.3f} |")
    return "\n".join(lines) + "\n"


def image_demo(out_dir: Path, verbose: bool = False) -> dict:
    """One-class detection on scikit-learn's 8x8 digits (no files): digit 1 is normal, every other digit an
    anomaly. Trains a small convolutional auto-encoder, writes ``roc_curve.png`` and ``reconstructions.png``
    into ``out_dir`` and returns the metrics.
    """
    from reconad import plots_images
    from reconad.data.images import load_digits_images
    from reconad.detectors import ImageDetector

    images, labels = load_digits_images()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(images))
    half = len(images) // 2
    train_idx, test_idx = order[:half], order[half:]
    normal_digit = 1
    train = images[train_idx][labels[train_idx] == normal_digit]
    test, y_test = images[test_idx], (labels[test_idx] != normal_digit).astype(np.int8)
    detector = ImageDetector("conv", latent_dim=8, transforms=None, error="mse", density=None, epochs=60, batch_size=16,
                             calibration_split=0.2, random_state=0, device="cpu", verbose=verbose)
    started = time.perf_counter()
    with torch_threads(1):  # tiny batches: one thread is fastest, and much faster on a busy machine
        detector.fit(train)
        scores = detector.anomaly_score(test)
        predicted = detector.predict(test)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots_images.roc_curves({"conv AE": (y_test, scores)}, out_dir / "roc_curve.png",
                            title=f"8x8 digits: normal {normal_digit} vs the rest")
    pick = example_indices(y_test, each=5)
    plots_images.reconstruction_grid(test[pick], {"reconstruction": detector.reconstruct(test[pick])},
                                     out_dir / "reconstructions.png",
                                     ["anomaly" if y_test[i] else "normal" for i in pick],
                                     title="8x8 digits: inputs and reconstructions")
    return {
        "dataset": "sklearn digits 8x8",
        "normal_digit": normal_digit,
        "model": "conv",
        "n_train": int(len(train)),
        "n_test": int(len(test)),
        "roc_auc": roc_auc(y_test, scores),
        "threshold": float(detector.threshold_),
        "threshold_source": detector.threshold_source_,
        "flagged_anomalies": int(predicted.sum()),
        "recall_at_threshold": float(predicted[y_test == 1].mean()),
        "false_alarm_rate": float(predicted[y_test == 0].mean()),
        "seconds": time.perf_counter() - started,
    }

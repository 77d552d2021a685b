"""The lecture slides' MNIST protocol: normal digits against anomaly digit 0, two checkpoints per run.

Digit 0 is the anomaly; the normal digits are {1}, {1, 2} or {1, ..., 5}. The model trains on the normal digits of
MNIST's training split. The test split, filtered to normal and anomaly digits and kept in its file order, is cut in
two: the first half is the test set, the second half the validation set that picks the best epoch. 5 epochs, batch
32, Adam 1e-3, per-image MSE. Each run reports the test ROC-AUC of *both* checkpoints: the last epoch (what the
slides report, since their ``best_model = model`` is an alias of the live model) and the best-validation epoch (a
real copy, which ``fit(validation=...)`` keeps).

torch is imported where a model is trained, not at import time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from reconad.bench.results import torch_threads
from reconad.data.images import ImageData, load_mnist
from reconad.errors import InputError
from reconad.metrics import roc_auc

log = logging.getLogger("reconad")

ANOMALY_DIGITS = (0,)
NORMAL_SETS = ((1,), (1, 2), (1, 2, 3, 4, 5))
MODELS = ("mlp", "deep", "conv")
LATENT_DIMS = (64, 4)
SEEDS = (0, 1, 2)
DEEP_LAYERS = 4  # the slides' "num_layer=4" deep auto-encoder

# Mean test ROC-AUC over seeds 0-2 (last-epoch model, test half) measured with a script copy of the slides,
# keyed by (normal digits, model, latent_dim); and the values printed on the slides themselves (one run each).
REFERENCE = {
    ((1,), "mlp", 64): 1.000,
    ((1,), "mlp", 4): 0.9987,
    ((1, 2), "mlp", 64): 0.985,
    ((1, 2), "mlp", 4): 0.984,
    ((1, 2), "deep", 4): 0.978,
    ((1, 2, 3, 4, 5), "deep", 64): 0.983,
    ((1, 2, 3, 4, 5), "mlp", 64): 0.829,
    ((1, 2, 3, 4, 5), "conv", 64): 0.815,
    ((1, 2, 3, 4, 5), "conv", 4): 0.968,
}
SLIDES = {
    ((1,), "mlp", 64): 1.0,
    ((1,), "mlp", 4): 0.999,
    ((1, 2), "mlp", 64): 0.970,
    ((1, 2), "mlp", 4): 0.982,
    ((1, 2), "deep", 4): 0.976,
}
TOLERANCE = 0.01


def _digits(digits: Sequence[int]) -> str:
    return ",".join(str(d) for d in digits)


def check_image_models(models: Sequence[str]) -> None:
    from reconad.models import list_models

    known = list_models(kind="image")
    unknown = [m for m in models if m not in known]
    if unknown:
        raise InputError(f"unknown image models {unknown}; choose from {known}")


def course_split(data: ImageData, normal: Sequence[int], anomaly: Sequence[int] = ANOMALY_DIGITS):
    """The slides' split: normal training images; test and validation halves of the filtered test split.

    Returns ``train (N, C, H, W)``, ``(test_images, test_labels)`` and ``(val_images, val_labels)`` with labels
    1 = anomaly, 0 = normal. The filtered test split keeps its file order; its first half (rounded down) is the
    test set and the rest the validation set.
    """
    train = data.train_images[np.isin(data.train_labels, normal)]
    keep = np.flatnonzero(np.isin(data.test_labels, [*anomaly, *normal]))
    half = len(keep) // 2
    labels = np.isin(data.test_labels[keep], anomaly).astype(np.int8)
    test = (data.test_images[keep[:half]], labels[:half])
    val = (data.test_images[keep[half:]], labels[half:])
    return train, test, val


def _course_run(data, normal, model, latent_dim, seed, epochs, batch_size, lr, verbose):
    from reconad.detectors import ImageDetector

    train, test, val = course_split(data, normal)
    detector = ImageDetector(
        model,
        latent_dim=latent_dim,
        num_layers=DEEP_LAYERS if model == "deep" else None,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        transforms=None,  # the slides' plain auto-encoders: reconstruct, score the mean squared error
        error="mse",
        density=None,
        calibration_split=0,  # the slides train on every normal training image
        random_state=seed,
        device="cpu",
        verbose=verbose,
    )
    started = time.perf_counter()
    detector.fit(train, validation=val, track={"test": test})
    seconds = time.perf_counter() - started
    last, best = detector.history_[-1], detector.history_[detector.best_epoch_ - 1]
    scores = detector.anomaly_score(test[0])  # the restored best-validation weights, scored afresh
    best_auc = roc_auc(test[1], scores)
    if abs(best_auc - best["test_roc_auc"]) > 1e-6:  # the copy must give what that epoch gave
        raise RuntimeError(f"restored checkpoint gives test ROC-AUC {best_auc}, epoch {best['epoch']} gave "
                           f"{best['test_roc_auc']}")
    row = {
        "normal": _digits(normal),
        "anomaly": _digits(ANOMALY_DIGITS),
        "model": model,
        "latent_dim": latent_dim,
        "num_layers": DEEP_LAYERS if model == "deep" else 1 if model == "mlp" else 2,
        "seed": seed,
        "epochs": epochs,
        "best_epoch": detector.best_epoch_,
        "test_auc_last": last["test_roc_auc"],
        "test_auc_best_val": best_auc,
        "val_auc_last": last["val_roc_auc"],
        "val_auc_best_val": best["val_roc_auc"],
        "test_normal_score_last": last["test_normal_score"],
        "test_anomaly_score_last": last["test_anomaly_score"],
        "test_normal_score_best_val": best["test_normal_score"],
        "test_anomaly_score_best_val": best["test_anomaly_score"],
        "parameters": sum(p.numel() for p in detector.model_.parameters()),
        "seconds": seconds,
        "n_train": len(train),
        "n_test": len(test[0]),
        "n_val": len(val[0]),
    }
    return row, detector, test, scores


def mnist_course(
    *,
    epochs: int = 5,
    seeds: Sequence[int] = SEEDS,
    models: Sequence[str] = MODELS,
    latent_dims: Sequence[int] = LATENT_DIMS,
    normal_sets: Sequence[Sequence[int]] = NORMAL_SETS,
    batch_size: int = 32,
    lr: float = 1e-3,
    data: ImageData | None = None,
    out_dir: str | Path | None = None,
    threads: int | None = 1,
    verbose: bool = False,
) -> pd.DataFrame:
    """Run the slides' grid (every normal set x model x latent size x seed) and return one row per run.

    ``data`` defaults to :func:`load_mnist`; any :class:`ImageData` works (the tests use 8x8 digits).
    ``threads`` caps torch's CPU threads during the grid (1 is the fastest per core for these small models,
    and far faster than several threads on a busy machine; None leaves torch's setting alone). With
    ``out_dir`` the table is written as ``mnist_course.csv`` and ``mnist_course.md`` (per-setting means next to
    the reference numbers) and figures go to ``mnist_course_figures/`` (for the first seed of every setting).
    """
    from reconad.training import progress

    check_image_models(models)
    data = load_mnist() if data is None else data
    grid = [(tuple(n), m, d, s) for n in normal_sets for m in models for d in latent_dims for s in seeds]
    rows, shown = [], {}
    with torch_threads(threads):
        for normal, model, latent, seed in progress(grid, verbose, desc="mnist-course", unit="run"):
            row, detector, test, scores = _course_run(data, normal, model, latent, seed, epochs, batch_size, lr,
                                                      verbose=False)
            rows.append(row)
            log.info("mnist-course %s", row)
            if seed == seeds[0]:
                shown[(normal, model, latent)] = (detector, test, scores)
    table = pd.DataFrame(rows)
    if out_dir is not None:
        from reconad.atomic import atomic_write_bytes

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out / "mnist_course.csv", table.to_csv(index=False).encode())
        comparable = len(data.train_images) == 60000 and (epochs, batch_size, lr) == (5, 32, 1e-3)
        atomic_write_bytes(out / "mnist_course.md", course_markdown(table, comparable).encode())
        _course_figures(shown, out / "mnist_course_figures")
    return table


def course_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per-setting means over seeds, with the reference numbers and the gap of the last-epoch test ROC-AUC."""
    keys = ["normal", "model", "latent_dim"]
    summary = (
        table.groupby(keys, sort=False)
        .agg(
            seeds=("seed", "count"),
            test_auc_last=("test_auc_last", "mean"),
            test_auc_last_std=("test_auc_last", "std"),
            test_auc_best_val=("test_auc_best_val", "mean"),
            val_auc_best_val=("val_auc_best_val", "mean"),
            normal_score_last=("test_normal_score_last", "mean"),
            anomaly_score_last=("test_anomaly_score_last", "mean"),
            parameters=("parameters", "first"),
            seconds=("seconds", "mean"),
        )
        .reset_index()
    )

    def lookup(source, row):
        normal = tuple(int(d) for d in str(row["normal"]).split(","))
        return source.get((normal, row["model"], int(row["latent_dim"])), np.nan)

    summary["reference"] = [lookup(REFERENCE, row) for _, row in summary.iterrows()]
    summary["slides"] = [lookup(SLIDES, row) for _, row in summary.iterrows()]
    summary["gap"] = summary["test_auc_last"] - summary["reference"]
    return summary


def course_markdown(table: pd.DataFrame, compare: bool = True) -> str:
    """The Markdown report: per-setting means (beside the reference numbers when ``compare``) and every run."""
    summary = course_summary(table)
    if not compare:  # other data or settings than the slides': the reference numbers do not apply
        summary[["reference", "slides", "gap"]] = np.nan
    lines = [
        "# MNIST course experiments (anomaly digit 0)",
        "",
        "Protocol of the lecture slides: train on the normal digits of MNIST's training split; the test split,",
        "filtered to normal + anomaly digits, is cut in two - first half = **test**, second half = **validation**.",
        f"{int(table['epochs'].iloc[0])} epochs, batch 32, Adam 1e-3, score = per-image MSE; "
        f"seeds {sorted(set(table['seed']))}; deep = {DEEP_LAYERS} layers.",
        "",
        "Two checkpoints of the same training run are reported, both on the test half:",
        "",
        "- **test AUC (last epoch)** - the model after the last epoch; this is what the slides report (their",
        "  `best_model = model` aliases the live model, so it always ends up as the last epoch).",
        "- **test AUC (best-val checkpoint)** - a real copy of the weights of the epoch with the best validation",
        "  ROC-AUC.",
        "",
        "`reference` = mean test AUC (last epoch) of seeds 0-2 from a script copy of the slides; "
        f"`gap` = ours (last epoch) - reference; a setting matches when |gap| <= {TOLERANCE}. "
        "`slides` = the single run printed on the slides.",
        "",
        "## Mean over seeds",
        "",
    ]
    header = ["normal", "model", "latent", "test AUC (last epoch)", "std", "test AUC (best-val checkpoint)",
              "val AUC (best-val checkpoint)", "normal score (last)", "anomaly score (last)", "parameters",
              "seconds", "reference (last epoch)", "gap", "match", "slides"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, r in summary.iterrows():
        match = "" if np.isnan(r["reference"]) else ("yes" if abs(r["gap"]) <= TOLERANCE else "**no**")
        lines.append("| " + " | ".join([
            f"{{{r['normal']}}}", r["model"], str(r["latent_dim"]), f"{r['test_auc_last']:.4f}",
            _fmt(r["test_auc_last_std"], 4), f"{r['test_auc_best_val']:.4f}", f"{r['val_auc_best_val']:.4f}",
            f"{r['normal_score_last']:.4f}", f"{r['anomaly_score_last']:.4f}", f"{int(r['parameters']):,}",
            f"{r['seconds']:.1f}", _fmt(r["reference"], 4), _fmt(r["gap"], 4, signed=True), match,
            _fmt(r["slides"], 3),
        ]) + " |")
    lines += ["", "## Every run", ""]
    header = ["normal", "model", "latent", "seed", "best epoch", "test AUC (last epoch)",
              "test AUC (best-val checkpoint)", "val AUC (last epoch)", "val AUC (best-val checkpoint)",
              "seconds"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, r in table.iterrows():
        lines.append("| " + " | ".join([
            f"{{{r['normal']}}}", r["model"], str(r["latent_dim"]), str(r["seed"]), str(r["best_epoch"]),
            f"{r['test_auc_last']:.4f}", f"{r['test_auc_best_val']:.4f}", f"{r['val_auc_last']:.4f}",
            f"{r['val_auc_best_val']:.4f}", f"{r['seconds']:.1f}",
        ]) + " |")
    return "\n".join(lines) + "\n"


def _fmt(value, digits: int, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _course_figures(shown: dict, folder: Path) -> None:
    from reconad import plots_images

    folder.mkdir(parents=True, exist_ok=True)
    for normal in dict.fromkeys(key[0] for key in shown):
        runs = {f"{m} latent {d}": value for (n, m, d), value in shown.items() if n == normal}
        tag = "n" + "".join(str(d) for d in normal)
        what = f"normal {{{_digits(normal)}}} vs anomaly 0, best-val checkpoint, first seed"
        curves = {label: (test[1], scores) for label, (_, test, scores) in runs.items()}
        plots_images.roc_curves(curves, folder / f"roc_{tag}.png", title=f"ROC, {what}")
        plots_images.score_histograms(curves, folder / f"scores_{tag}.png", title=f"Test scores, {what}")
        histories = {label: det.history_ for label, (det, _, _) in runs.items()}
        plots_images.history_curves(histories, folder / f"history_{tag}.png",
                                    keys=("train_loss", "val_roc_auc", "test_roc_auc"),
                                    title=f"Per-epoch history, normal {{{_digits(normal)}}}")
        _, test, _ = next(iter(runs.values()))
        pick = example_indices(test[1])
        recon = {label: det.reconstruct(test[0][pick]) for label, (det, _, _) in runs.items()}
        captions = ["anomaly" if test[1][i] else "normal" for i in pick]
        plots_images.reconstruction_grid(test[0][pick], recon, folder / f"reconstructions_{tag}.png", captions,
                                         title=f"Inputs and reconstructions, {what}")


def example_indices(labels: np.ndarray, each: int = 4) -> np.ndarray:
    """The first ``each`` normal and the first ``each`` anomalous indices."""
    return np.concatenate([np.flatnonzero(labels == 0)[:each], np.flatnonzero(labels == 1)[:each]])

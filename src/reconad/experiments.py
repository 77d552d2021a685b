"""Grids of runs that reproduce the course's MNIST experiments and return tidy result tables.

- :func:`mnist_course`: the lecture's protocol. Digit 0 is the anomaly; the normal digits are {1}, {1, 2} or
  {1, ..., 5}. The model trains on the normal digits of MNIST's training split. The test split, filtered to
  normal and anomaly digits and kept in its file order, is cut in two: the first half is the test set, the
  second half the validation set that picks the best epoch. 5 epochs, batch 32, Adam 1e-3, per-image MSE.
  Each run reports the test ROC-AUC of *both* checkpoints: the last epoch (what the slides report, since
  their ``best_model = model`` is an alias of the live model) and the best-validation epoch (a real copy).
- :func:`mnist_oneclass`: each digit alone is normal (all its training images); all 10,000 test images are
  scored and the other nine digits are the anomalies.
- :func:`image_demo`: a few-second one-class run on scikit-learn's 8x8 digits (no files) for ``reconad demo``.

Each function returns a pandas DataFrame with one row per run; with ``out_dir`` it also writes CSV,
Markdown and figures there. ``add_cli`` registers the ``reconad experiment`` command.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from reconad.data.images import ImageData, load_digits_images, load_mnist
from reconad.detector import ImageDetector
from reconad.errors import InputError
from reconad.metrics import roc_auc
from reconad.persistence import atomic_write_bytes
from reconad.training import progress

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


def _check_names(models: Sequence[str]) -> None:
    from reconad.models import list_models

    known = list_models(kind="image")
    unknown = [m for m in models if m not in known]
    if unknown:
        raise InputError(f"unknown image models {unknown}; choose from {known}")


# ---- the lecture's protocol ---------------------------------------------------------------------------------------


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
    train, test, val = course_split(data, normal)
    detector = ImageDetector(
        model,
        latent_dim=latent_dim,
        num_layers=DEEP_LAYERS if model == "deep" else None,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        checkpoint="best",
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
    _check_names(models)
    data = load_mnist() if data is None else data
    grid = [(tuple(n), m, d, s) for n in normal_sets for m in models for d in latent_dims for s in seeds]
    rows, shown = [], {}
    with _threads(threads):
        for normal, model, latent, seed in progress(grid, verbose, desc="mnist-course", unit="run"):
            row, detector, test, scores = _course_run(data, normal, model, latent, seed, epochs, batch_size, lr,
                                                      verbose=False)
            rows.append(row)
            log.info("mnist-course %s", row)
            if seed == seeds[0]:
                shown[(normal, model, latent)] = (detector, test, scores)
    table = pd.DataFrame(rows)
    if out_dir is not None:
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
        pick = _examples(test[1])
        recon = {label: det.reconstruct(test[0][pick]) for label, (det, _, _) in runs.items()}
        captions = ["anomaly" if test[1][i] else "normal" for i in pick]
        plots_images.reconstruction_grid(test[0][pick], recon, folder / f"reconstructions_{tag}.png", captions,
                                         title=f"Inputs and reconstructions, {what}")


def _examples(labels: np.ndarray, each: int = 4) -> np.ndarray:
    """The first ``each`` normal and the first ``each`` anomalous indices."""
    return np.concatenate([np.flatnonzero(labels == 0)[:each], np.flatnonzero(labels == 1)[:each]])


class _threads:
    """Set torch's intra-op thread count for a block and restore it afterwards."""

    def __init__(self, count: int | None):
        self.count = count

    def __enter__(self):
        self.saved = torch.get_num_threads()
        if self.count is not None:
            torch.set_num_threads(self.count)

    def __exit__(self, *exc):
        torch.set_num_threads(self.saved)


# ---- one class at a time ------------------------------------------------------------------------------------------


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
    _check_names(models)
    data = load_mnist() if data is None else data
    grid = [(m, d, s, digit) for m in models for d in latent_dims for s in seeds for digit in digits]
    rows = []
    with _threads(threads):
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


# ---- the demo on embedded data ------------------------------------------------------------------------------------


def image_demo(out_dir: Path, verbose: bool = False) -> dict:
    """One-class detection on scikit-learn's 8x8 digits (no files): digit 1 is normal, every other digit an
    anomaly. Trains a small convolutional auto-encoder, writes ``roc_curve.png`` and ``reconstructions.png``
    into ``out_dir`` and returns the metrics.
    """
    from reconad import plots_images

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
    with _threads(1):  # tiny batches: one thread is fastest, and much faster on a busy machine
        detector.fit(train)
        scores = detector.anomaly_score(test)
        predicted = detector.predict(test)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots_images.roc_curves({"conv AE": (y_test, scores)}, out_dir / "roc_curve.png",
                            title=f"8x8 digits: normal {normal_digit} vs the rest")
    pick = _examples(y_test, each=5)
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
        "threshold": detector.threshold_.value_,
        "threshold_source": detector.threshold_source_,
        "flagged_anomalies": int(predicted.sum()),
        "recall_at_threshold": float(predicted[y_test == 1].mean()),
        "false_alarm_rate": float(predicted[y_test == 0].mean()),
        "seconds": time.perf_counter() - started,
    }


# ---- command line ---------------------------------------------------------------------------------------------


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.replace(" ", ",").split(",") if part]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from exc


def _name_list(text: str) -> list[str]:
    return [part for part in text.replace(" ", ",").split(",") if part]


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register ``experiment {mnist-course, mnist-oneclass}`` on an argparse ``subparsers`` object."""
    parser = subparsers.add_parser("experiment", help="run the course's MNIST experiment grids",
                                   description="Run the course's MNIST experiment grids and write tables.")
    parser.add_argument("name", choices=("mnist-course", "mnist-oneclass"), help="which experiment")
    parser.add_argument("--epochs", type=int, default=5, help="training epochs per run (default 5)")
    parser.add_argument("--seeds", type=_int_list, default=None, help="comma-separated seeds (course: 0,1,2; "
                        "one-class: 0)")
    parser.add_argument("--models", type=_name_list, default=None,
                        help="comma-separated models (course: mlp,deep,conv; one-class: mlp,conv)")
    parser.add_argument("--latent-dims", type=_int_list, default=None,
                        help="comma-separated latent sizes (course: 64,4; one-class: 64)")
    parser.add_argument("--digits", type=_int_list, default=None,
                        help="mnist-oneclass only: the digits to run (default 0-9)")
    parser.add_argument("--data", default=None, help="folder with the MNIST IDX files (default: "
                        "$RECONAD_DATA/mnist or ../shared/data/mnist)")
    parser.add_argument("--out", default="experiments", help="folder for CSV, Markdown and figures")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_cli)
    return parser


def run_cli(args: argparse.Namespace) -> int:
    """The ``reconad experiment`` handler: run the grid, write the files, print the Markdown summary."""
    options = {"epochs": args.epochs, "out_dir": args.out, "verbose": not args.quiet}
    for key in ("seeds", "models", "latent_dims"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    try:
        data = load_mnist(args.data)
        if args.name == "mnist-course":
            if args.digits is not None:
                raise InputError("--digits applies to mnist-oneclass only")
            table = mnist_course(data=data, **options)
            text = course_markdown(table, len(data.train_images) == 60000 and args.epochs == 5)
        else:
            if args.digits is not None:
                options["digits"] = args.digits
            table = mnist_oneclass(data=data, **options)
            text = oneclass_markdown(table)
    except InputError as exc:
        print(f"error: {exc}")
        return 2
    print(text)
    print(f"wrote {len(table)} runs to {Path(args.out).resolve()}")
    return 0

"""The detector parameters that ``reconad fit`` takes as options, and their translation into constructor arguments.

Torch-free: ``reconad.cli`` builds its options from :data:`PARAMS` at start-up.
"""

from __future__ import annotations

import argparse

from reconad.errors import InputError

# the names of reconad.thresholds.THRESHOLDS, spelled out so that --help need not import numpy and scipy
# (tests/test_cli_fast.py checks that they match)
THRESHOLD_NAMES = ("quantile", "contamination", "mean_std", "median_mad", "pot", "alarm_budget")



def int_or_auto(text: str) -> int | str:
    """``--window 100`` or ``--window auto`` (three cycles of the training data)."""
    return text if text == "auto" else int(text)


int_or_auto.__name__ = "integer or 'auto'"  # argparse names the type in its error message

# detector parameters as options: name -> (type, help); None means "the detector's (or preset's) default"
PARAMS: dict[str, tuple[type, str]] = {
    "window": (int_or_auto, "steps per window, or 'auto': three cycles (dominant periods) of the training data"),
    "stride": (int, "steps between training windows"),
    "score_stride": (int, "steps between scoring windows (smaller = more overlap; default 1)"),
    "epochs": (int, "training epochs"),
    "batch_size": (int, "windows (or images) per mini-batch"),
    "lr": (float, "Adam learning rate"),
    "hidden_size": (int, "hidden units per layer"),
    "num_layers": (int, "layers of the encoder / decoder"),
    "latent_dim": (int, "size of the code"),
    "calibration_split": (float, "held-out fraction of the training data for the label-free threshold"),
    "random_state": (int, "seed of everything (same seed on the CPU = same scores)"),
    "device": (str, "'auto' (CUDA when present), 'cpu', 'cuda', ..."),
    "decoder": (str, "recurrent models: 'repeat' or 'autoregressive'"),
}
# the options that only a SeriesDetector takes (--scaler and --drift are declared apart from PARAMS)
SERIES_ONLY = ("window", "stride", "score_stride", "drift", "scaler", "decoder")


def option(name: str) -> str:
    """``score_stride`` -> ``--score-stride``."""
    return "--" + name.replace("_", "-")


def detector_params(args: argparse.Namespace, images: bool) -> dict:
    """The constructor arguments the options name (unset options are left to the detector or the preset).

    Refuses a series-only option for images rather than ignoring it.
    """
    params = {name: getattr(args, name) for name in PARAMS if getattr(args, name) is not None}
    if args.scaler is not None:
        params["scaler"] = None if args.scaler == "none" else args.scaler
    if args.drift is not None:
        named = {"auto": "auto", "none": None}
        params["drift"] = named[args.drift] if args.drift in named else args.drift.split(",")
    if args.threshold is not None:
        params["threshold"] = args.threshold
    if args.model is not None:
        params["model"] = args.model
    if images:
        given = [name for name in SERIES_ONLY if name in params]
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise InputError(f"{', '.join(map(option, given))} {verb} to series only; {args.data} holds images")
    params["verbose"] = not args.quiet
    return params


def check_kind_options(args: argparse.Namespace, images: bool, table_only: tuple[str, ...],
                       image_only: tuple[str, ...]) -> None:
    """Refuse options that do not apply to the kind of data given, rather than ignore them."""
    wrong = image_only if not images else table_only
    given = [option(name) for name in wrong if getattr(args, name, None) is not None]
    if given:
        kind, other = ("images", "tables (CSV / Parquet)") if images else ("a table", "images")
        verb = "applies" if len(given) == 1 else "apply"
        hint = ""
        if "--labels" in given and args.command == "fit":  # fit reads a table's labels with --label-col
            hint = f"; a table's 0/1 label column is --label-col {args.labels}"
        raise InputError(f"{', '.join(given)} {verb} to {other} only; {args.data} holds {kind}{hint}")

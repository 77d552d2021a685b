"""Named configurations. ``SeriesDetector.from_preset(name, **overrides)`` (or ``ImageDetector.from_preset``)
builds one."""

from __future__ import annotations

import copy

from reconad.errors import InputError

PRESETS: dict[str, tuple[str, dict]] = {
    # The course notebook exactly: 2-layer RNN encoder, autoregressive RNN decoder (hidden 32) with a linear
    # head, windows of 100 every 10 steps for training, non-overlapping windows for scoring, no scaling,
    # training on all the data (so the label-free threshold comes from training scores), 20 epochs of Adam
    # 1e-3 in batches of 8.
    "sine-notebook": (
        "SeriesDetector",
        dict(
            model="rnn",
            decoder="autoregressive",
            hidden_size=32,
            num_layers=2,
            window=100,
            stride=10,
            score_stride=100,
            scaler=None,
            calibration_split=0,
            epochs=20,
            batch_size=8,
            lr=1e-3,
            drift=None,  # the notebook does not centre drifting features
            random_state=223,
        ),
    ),
    # The MNIST slides' first auto-encoder: pixels -> 64 (ReLU) -> pixels (Sigmoid), plain reconstruction scored
    # by the mean squared error, 5 epochs of Adam 1e-3 in batches of 32.
    "mnist-slides": (
        "ImageDetector",
        dict(model="mlp", latent_dim=64, transforms=None, error="mse", density=None, epochs=5, batch_size=32,
             lr=1e-3),
    ),
}


def get_preset(name: str) -> tuple[str, dict]:
    """The detector class name and parameters of a preset."""
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; known presets: {', '.join(sorted(PRESETS))}")
    kind, params = PRESETS[name]
    return kind, copy.deepcopy(params)  # a threshold object is not shared between detectors


def list_presets(kind: str | None = None) -> list[str]:
    """The preset names, sorted; with ``kind`` ("SeriesDetector" or "ImageDetector") only those for that class."""
    return sorted(name for name, (of, _) in PRESETS.items() if kind is None or of == kind)

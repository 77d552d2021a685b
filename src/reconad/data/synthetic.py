"""The course notebook's noisy sine with injected anomalies, reproducible from one seed.

The clean signal is one period of ``sin(i * pi)`` sampled at 100 points of ``i`` in [-2, 2] (two full
turns), repeated 30 times: 3,000 steps. Uniform [0, 1) noise is added. Anomalies are 5 runs of 10 steps whose
values are doubled, starting at positions drawn with replacement from the first 1,000 steps.

Two protocols for the test series (always 1,000 steps long):

- ``"notebook"``: the test series is a copy of the first 1,000 *training* steps (same noise), as the course
  notebook does. The model has seen this very noise during training, so results are optimistic.
- ``"independent"``: the test series is the clean signal plus its own noise draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reconad.errors import InputError

PROTOCOLS = ("notebook", "independent")


@dataclass(frozen=True)
class SineData:
    """A training series of normal data and a labelled test series."""

    train: np.ndarray          # (T_train,) float32, normal only
    test: np.ndarray           # (T_test,) float32, with anomalies
    test_labels: np.ndarray    # (T_test,) int8, 1 on anomalous steps
    anomaly_starts: np.ndarray  # (n_anomalies,) start index of every injected run (may repeat / overlap)
    protocol: str
    seed: int


def clean_sine(period: int = 100, repeat: int = 30) -> np.ndarray:
    """The noiseless signal: ``sin(i * pi)`` for ``i`` in ``linspace(-2, 2, period)``, tiled ``repeat`` times."""
    one_period = np.sin(np.linspace(-2.0, 2.0, period) * np.pi)
    return np.tile(one_period, repeat)


def make_sine(
    seed: int = 223,
    protocol: str = "notebook",
    *,
    period: int = 100,
    repeat: int = 30,
    test_length: int = 1000,
    n_anomalies: int = 5,
    anomaly_length: int = 10,
    anomaly_scale: float = 2.0,
) -> SineData:
    """Build the notebook's series from one seed.

    The training noise is ``RandomState(seed).random(period * repeat)``; the anomaly starts come from a fresh
    ``RandomState(seed).choice(test_length, n_anomalies)``, which reproduces the notebook's own anomaly
    positions for seed 223. Under ``"independent"`` the test noise is the next ``test_length`` draws of the
    training noise generator, so it never repeats the training noise.
    """
    if protocol not in PROTOCOLS:
        raise InputError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    if test_length > period * repeat:
        raise InputError(f"test_length={test_length} exceeds the series length {period * repeat}")
    clean = clean_sine(period, repeat)
    noise_rng = np.random.RandomState(seed)
    train = clean + noise_rng.random(clean.size)
    if protocol == "notebook":
        test = train[:test_length].copy()
    else:
        test = clean[:test_length] + noise_rng.random(test_length)

    starts = np.random.RandomState(seed).choice(test_length, n_anomalies)
    labels = np.zeros(test_length, dtype=np.int8)
    for start in starts:
        span = slice(start, start + anomaly_length)
        test[span] = test[span] * anomaly_scale
        labels[span] = 1
    return SineData(
        train=train.astype(np.float32),
        test=test.astype(np.float32),
        test_labels=labels,
        anomaly_starts=np.asarray(starts),
        protocol=protocol,
        seed=seed,
    )

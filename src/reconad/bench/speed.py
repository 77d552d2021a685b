"""Speed and scale, measured in one run as ratios against a reference run in the same suite.

1. Training: the faithful recurrent auto-encoder (``sine-notebook`` preset, 20 epochs, batch 8, seed 223) with
   reconad's decoder vs the straightforward one (``decode_autoregressive_reference``: one RNN call and one head
   call per step, as the course notebook), on one CPU thread; runs are paired (reference, then ours) and
   repeated; the median ratio and the largest difference between the two per-epoch loss curves.
2. Bounded-memory scoring: ``anomaly_score`` of a 10,000,000 x 8 series with the default model, in a fresh
   process (``python -m reconad.bench.speed --scale-child STEPS``), which reports its peak resident memory.
3. Streaming vs batch scoring of the same series (``det.stream()`` fed 1,000 rows at a time).
4. The preset on CUDA against one CPU thread when the machine has a GPU; otherwise the report says so.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

import numpy as np

from reconad.bench.results import markdown_table, torch_threads

CELLS = ("rnn", "lstm", "gru")


def fit_once(reference: bool, cell: str, epochs: int, device: str = "cpu") -> tuple[float, list[float]]:
    """Seconds and per-epoch losses of one fit of the preset, with the reference decoder or reconad's."""
    import torch

    from reconad.data import make_sine
    from reconad.detectors import SeriesDetector
    from reconad.models.recurrent import RecurrentAutoencoder

    ours = RecurrentAutoencoder.decode_autoregressive
    if reference:
        RecurrentAutoencoder.decode_autoregressive = RecurrentAutoencoder.decode_autoregressive_reference
    try:
        det = SeriesDetector.from_preset("sine-notebook", model=cell, epochs=epochs, verbose=False, device=device)
        started = time.perf_counter()
        det.fit(make_sine(223, "notebook").train)
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - started, [h["train_loss"] for h in det.history_]
    finally:
        RecurrentAutoencoder.decode_autoregressive = ours


def training(cells: Sequence[str], repeats: int, epochs: int, progress=None) -> list[dict]:
    results = []
    for cell in cells:
        pairs = []
        for _ in range(repeats):
            ref_s, ref_loss = fit_once(True, cell, epochs)
            ours_s, ours_loss = fit_once(False, cell, epochs)
            pairs.append({"reference_s": ref_s, "ours_s": ours_s, "ratio": ref_s / ours_s,
                          "max_loss_diff": max(abs(a - b) for a, b in zip(ref_loss, ours_loss))})
            if progress:
                progress(f"{cell}: reference {ref_s:.1f} s, reconad {ours_s:.1f} s")
        results.append({"cell": cell, "pairs": pairs,
                        "median_reference_s": statistics.median(p["reference_s"] for p in pairs),
                        "median_ours_s": statistics.median(p["ours_s"] for p in pairs),
                        "median_ratio": statistics.median(p["ratio"] for p in pairs),
                        "max_loss_diff": max(p["max_loss_diff"] for p in pairs)})
    return results


def series(steps: int, features: int = 8, seed: int = 0) -> np.ndarray:
    """A ``(steps, features)`` float32 sine with noise, filled in parts (no float64 copy of the whole)."""
    rng = np.random.default_rng(seed)
    x = np.empty((steps, features), dtype=np.float32)
    for begin in range(0, steps, 1_000_000):
        part = min(1_000_000, steps - begin)
        t = np.arange(begin, begin + part)[:, None]
        x[begin : begin + part] = np.sin(t / 50.0 + np.arange(features)) + 0.1 * rng.normal(size=(part, features))
    return x


def small_detector(device: str = "cpu"):
    from reconad.detectors import SeriesDetector

    return SeriesDetector(epochs=2, verbose=False, random_state=0, device=device).fit(series(5_000, seed=1))


def scale_child(steps: int, device: str) -> dict:
    """Run in a fresh process: peak RSS and throughput of scoring ``steps`` x 8 with the default model."""
    import resource

    det = small_detector(device)
    x = series(steps)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    scores = det.anomaly_score(x)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"steps": steps, "features": 8, "device": device, "seconds": seconds, "steps_per_s": steps / seconds,
            "peak_rss_mb": peak, "rss_before_scoring_mb": before, "input_mb": x.nbytes / 2**20,
            "finite": bool(np.isfinite(scores).all()), "window": det.window_}


def scaling(steps: int, device: str) -> dict:
    command = [sys.executable, "-m", "reconad.bench.speed", "--scale-child", str(steps), "--device", device]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def streaming(device: str, repeats: int, steps: int = 200_000) -> dict:
    det = small_detector(device)
    x = series(steps, seed=2)
    batch_scores = det.anomaly_score(x)

    def stream():
        scorer, parts = det.stream(), []
        for begin in range(0, steps, 1_000):
            parts.append(scorer.update(x[begin : begin + 1_000]))
        parts.append(scorer.finish())
        return np.concatenate(parts)

    streamed = stream()
    batch_s = median_time(lambda: det.anomaly_score(x), repeats)
    stream_s = median_time(stream, repeats)
    return {"device": device, "steps": steps, "batch_s": batch_s, "stream_s": stream_s,
            "stream_over_batch_time": stream_s / batch_s,
            "stream_max_abs_diff": float(np.abs(streamed - batch_scores).max())}


def gpu_figures(repeats: int, epochs: int) -> dict | None:
    """The faithful preset on CUDA vs one CPU thread (ours both); None without a GPU."""
    import torch

    if not torch.cuda.is_available():
        return None
    cpu = statistics.median(fit_once(False, "rnn", epochs, "cpu")[0] for _ in range(repeats))
    gpu = statistics.median(fit_once(False, "rnn", epochs, "cuda")[0] for _ in range(repeats))
    return {"device": torch.cuda.get_device_name(0), "sine_preset_cpu_s": cpu, "sine_preset_cuda_s": gpu,
            "cuda_over_cpu_speed": cpu / gpu}


def run(repeats: int = 3, epochs: int | None = None, cells: Sequence[str] | None = None, steps: int = 10_000_000,
        device: str = "cpu", progress=None) -> dict:
    """The ``speed`` suite on one torch thread."""
    epochs = 20 if epochs is None else epochs
    cells = list(cells or CELLS)
    payload = {"args": {"repeats": repeats, "epochs": epochs, "cells": cells, "steps": steps, "device": device}}
    with torch_threads(1):
        payload["training"] = training(cells, repeats, epochs, progress)
        payload["scaling"] = scaling(steps, device)
        payload["streaming"] = streaming(device, repeats)
        payload["gpu"] = gpu_figures(repeats, epochs)
    return payload


def markdown(payload: dict) -> str:
    args = payload["args"]
    lines = ["# Speed and scale", "",
             f"`reconad bench speed` (or `python benchmarks/speed.py`) — one process, medians of {args['repeats']} "
             "runs; every figure is a ratio against a reference run in the same suite.", "",
             "## 1. Training the faithful recurrent auto-encoder, one CPU thread", "",
             f"Preset `sine-notebook` ({args['epochs']} epochs, batch 8, seed 223): reconad's decoder vs the per-step "
             "reference (one RNN call and one head call per step, the notebook's way), paired runs.", ""]
    rows = [[r["cell"], f"{r['median_reference_s']:.1f}", f"{r['median_ours_s']:.1f}", f"{r['median_ratio']:.2f}x",
             f"{r['max_loss_diff']:.1e}"] for r in payload["training"]]
    lines.append(markdown_table(["cell", "reference s", "reconad s", "speed-up", "max |loss difference|"], rows))
    s = payload["scaling"]
    lines += ["## 2. Bounded-memory scoring", "",
              f"`anomaly_score` on {s['steps']:,} x {s['features']} steps with the default model (window "
              f"{s['window']}, every window scored), fresh process on the {s['device']}:", "",
              markdown_table(["steps/s", "seconds", "peak RSS MB", "of which the input MB", "RSS before scoring MB"],
                             [[f"{s['steps_per_s']:,.0f}", f"{s['seconds']:.1f}", f"{s['peak_rss_mb']:.0f}",
                               f"{s['input_mb']:.0f}", f"{s['rss_before_scoring_mb']:.0f}"]]),
              "Windows are built and scored in batches and folded into per-step sums as they come; the whole "
              "(N, W, D) window tensor is never built. The goal is a peak under 2 GiB (2,048 MB).", ""]
    sp = payload["streaming"]
    lines += ["## 3. Streaming scoring", "",
              f"{sp['steps']:,} x 8 steps on the {sp['device']}; `det.stream()` fed 1,000 rows at a time.", "",
              markdown_table(["batch s", "streamed s", "streamed / batch time", "max |streamed - batch|"],
                             [[f"{sp['batch_s']:.2f}", f"{sp['stream_s']:.2f}", f"{sp['stream_over_batch_time']:.2f}",
                               f"{sp['stream_max_abs_diff']:.1e}"]])]
    gpu = payload["gpu"]
    lines += ["## 4. GPU", ""]
    if gpu is None:
        lines += ["No GPU on the machine that ran this, so there are no GPU figures. Run `reconad bench speed` on a "
                  "GPU machine to fill this section.", ""]
    else:
        lines += [markdown_table(["GPU", "sine preset CPU s", "sine preset CUDA s", "CUDA speed-up"],
                                 [[gpu["device"], f"{gpu['sine_preset_cpu_s']:.1f}", f"{gpu['sine_preset_cuda_s']:.1f}",
                                   f"{gpu['cuda_over_cpu_speed']:.2f}x"]])]
    lines += [f"Machine: {payload.get('machine')}", ""]
    return "\n".join(lines)


def _child(argv: list[str]) -> None:
    """``python -m reconad.bench.speed --scale-child STEPS [--device DEVICE]``: one JSON line on stdout."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m reconad.bench.speed")
    parser.add_argument("--scale-child", type=int, required=True)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    with torch_threads(1):
        sys.stdout.write(json.dumps(scale_child(args.scale_child, args.device)) + "\n")


if __name__ == "__main__":
    _child(sys.argv[1:])

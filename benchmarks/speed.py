"""Speed and scale, measured in one run as ratios against a reference run in the same script.

1. Training: the faithful recurrent auto-encoder (``sine-notebook`` preset, 20 epochs, batch 8, seed 223) with
   reconad's decoder vs the straightforward one (``decode_autoregressive_reference``: one RNN call and one
   head call per step, as the course notebook), on one CPU thread; runs are paired (reference, then ours) and
   repeated; we report the median ratio and the largest difference between the two per-epoch loss curves.
2. Bounded-memory scoring: ``anomaly_score`` of a 10,000,000 x 8 series with the default model, in a fresh
   process, which reports its peak resident memory (``ru_maxrss``) and steps per second.
3. Streaming vs batch scoring of the same series (``det.stream()`` fed 1,000 rows at a time).
4. ``precision="bf16"`` vs fp32 scoring on the same device.
5. The same on CUDA when the machine has a GPU (device, timings, GPU vs CPU ratios); otherwise the report says so.

    OMP_NUM_THREADS=1 python benchmarks/speed.py [--repeats 3] [--cells rnn lstm gru] [--steps 10000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, markdown_table, write_results  # noqa: E402

from reconad import SeriesDetector  # noqa: E402
from reconad.data import make_sine  # noqa: E402
from reconad.models.recurrent import RecurrentAutoencoder  # noqa: E402


def fit_once(reference: bool, cell: str, epochs: int, device: str = "cpu") -> tuple[float, list[float]]:
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


def training(cells: list[str], repeats: int, epochs: int) -> list[dict]:
    results = []
    for cell in cells:
        pairs = []
        for _ in range(repeats):
            ref_s, ref_loss = fit_once(True, cell, epochs)
            ours_s, ours_loss = fit_once(False, cell, epochs)
            pairs.append({"reference_s": ref_s, "ours_s": ours_s, "ratio": ref_s / ours_s,
                          "max_loss_diff": max(abs(a - b) for a, b in zip(ref_loss, ours_loss))})
        results.append({"cell": cell, "pairs": pairs,
                        "median_reference_s": statistics.median(p["reference_s"] for p in pairs),
                        "median_ours_s": statistics.median(p["ours_s"] for p in pairs),
                        "median_ratio": statistics.median(p["ratio"] for p in pairs),
                        "max_loss_diff": max(p["max_loss_diff"] for p in pairs)})
    return results


def _series(steps: int, features: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.empty((steps, features), dtype=np.float32)
    for begin in range(0, steps, 1_000_000):  # filled in parts: no float64 copy of the whole series
        part = min(1_000_000, steps - begin)
        t = np.arange(begin, begin + part)[:, None]
        x[begin : begin + part] = np.sin(t / 50.0 + np.arange(features)) + 0.1 * rng.normal(size=(part, features))
    return x


def _detector(device: str = "cpu") -> SeriesDetector:
    train = _series(5_000, seed=1)
    return SeriesDetector(epochs=2, verbose=False, random_state=0, device=device).fit(train)


def scale_child(steps: int, device: str) -> dict:
    """Run in a fresh process: peak RSS and throughput of scoring ``steps`` x 8 with the default model."""
    det = _detector(device)
    x = _series(steps)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    scores = det.anomaly_score(x)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"steps": steps, "features": 8, "device": device, "seconds": seconds, "steps_per_s": steps / seconds,
            "peak_rss_mb": peak, "rss_before_scoring_mb": before, "input_mb": x.nbytes / 2**20,
            "finite": bool(np.isfinite(scores).all()), "window": det.window_}


def scaling(steps: int, device: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--scale-child", str(steps), "--device", device],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def streaming_and_precision(device: str, repeats: int, steps: int = 200_000) -> dict:
    det = _detector(device)
    x = _series(steps, seed=2)
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
    det.precision = "bf16"
    bf16_scores = det.anomaly_score(x)
    bf16_s = median_time(lambda: det.anomaly_score(x), repeats)
    return {"device": device, "steps": steps, "batch_s": batch_s, "stream_s": stream_s,
            "stream_over_batch_time": stream_s / batch_s,
            "stream_max_abs_diff": float(np.abs(streamed - batch_scores).max()),
            "bf16_s": bf16_s, "fp32_over_bf16_speed": batch_s / bf16_s,
            "bf16_median_rel_diff": float(np.median(np.abs(bf16_scores - batch_scores) / batch_scores))}


def gpu_figures(repeats: int, epochs: int) -> dict | None:
    """The faithful preset on CUDA vs one CPU thread (ours both), and GPU scoring; None without a GPU."""
    if not torch.cuda.is_available():
        return None
    cpu = statistics.median(fit_once(False, "rnn", epochs, "cpu")[0] for _ in range(repeats))
    gpu = statistics.median(fit_once(False, "rnn", epochs, "cuda")[0] for _ in range(repeats))
    return {"device": torch.cuda.get_device_name(0), "sine_preset_cpu_s": cpu, "sine_preset_cuda_s": gpu,
            "cuda_over_cpu_speed": cpu / gpu}


def markdown(payload: dict) -> str:
    args = payload["args"]
    lines = ["# Speed and scale", "",
             f"`OMP_NUM_THREADS=1 python benchmarks/speed.py` — one process, medians of {args['repeats']} runs; "
             "every figure is a ratio against a reference run in the same script.", "",
             "## 1. Training the faithful recurrent auto-encoder, one CPU thread", "",
             f"Preset `sine-notebook` ({args['epochs']} epochs, batch 8, seed 223): reconad's decoder vs the "
             "per-step reference (one RNN call and one head call per step, the notebook's way), paired runs.", ""]
    rows = [[r["cell"], f"{r['median_reference_s']:.1f}", f"{r['median_ours_s']:.1f}", f"{r['median_ratio']:.2f}x",
             f"{r['max_loss_diff']:.1e}"] for r in payload["training"]]
    lines.append(markdown_table(["cell", "reference s", "reconad s", "speed-up", "max |loss difference|"], rows))
    lines += ["Each cell's decoder loop is one `torch.autograd.Function` with a hand-written backward pass "
              "(gradients checked with `gradcheck` and against autograd on the reference). Loss curves differ at "
              "rounding level: a folded matrix product order, amplified over hundreds of Adam steps; one "
              "forward/backward agrees within 1e-4.", ""]
    s = payload["scaling"]
    lines += ["## 2. Bounded-memory scoring", "",
              f"`anomaly_score` on {s['steps']:,} x {s['features']} steps with the default model (dense, window "
              f"{s['window']}, every window scored), fresh process on the {s['device']}:", "",
              markdown_table(["steps/s", "seconds", "peak RSS MB", "of which the input MB", "RSS before scoring MB"],
                             [[f"{s['steps_per_s']:,.0f}", f"{s['seconds']:.1f}", f"{s['peak_rss_mb']:.0f}",
                               f"{s['input_mb']:.0f}", f"{s['rss_before_scoring_mb']:.0f}"]]),
              "Windows are built and scored in batches of at most 1,024 and folded into per-step sums as they come; "
              "the whole (N, W, D) window tensor (here 32 GB) is never built. The goal is a peak under 2 GiB "
              "(2,048 MB). `tests/test_detector.py::test_batched_scoring_equals_one_unbatched_pass` checks the "
              "batched result against one unbatched pass.", ""]
    sp = payload["streaming"]
    lines += ["## 3. Streaming and bf16 scoring", "",
              f"{sp['steps']:,} x 8 steps on the {sp['device']}; `det.stream()` fed 1,000 rows at a time.", "",
              markdown_table(["batch s", "streamed s", "streamed / batch time", "max |streamed - batch|", "bf16 s",
                              "fp32 / bf16 time", "bf16 median relative difference"],
                             [[f"{sp['batch_s']:.2f}", f"{sp['stream_s']:.2f}",
                               f"{sp['stream_over_batch_time']:.2f}", f"{sp['stream_max_abs_diff']:.1e}",
                               f"{sp['bf16_s']:.2f}", f"{sp['fp32_over_bf16_speed']:.2f}",
                               f"{sp['bf16_median_rel_diff']:.1e}"]]),
              f"On this {sp['device']} bf16 scoring took {1 / sp['fp32_over_bf16_speed']:.2f}x fp32's time; bfloat16 "
              "is meant for GPUs with bfloat16 units. Streamed and batch scores differ only where the model meets "
              "a window in another batch size (float32 rounding).", ""]
    gpu = payload["gpu"]
    lines += ["## 4. GPU", ""]
    if gpu is None:
        lines += ["No GPU on the machine that ran this (the session that wrote it was not lent one), so there are "
                  "no GPU figures yet. The CUDA path (training, scoring, pinned-memory batches, bf16) is exercised "
                  "by `tests/test_distributed_training.py::test_cuda_path_scores_like_the_cpu`, which is skipped "
                  "without CUDA. Re-run this script on a GPU machine to fill this section.", ""]
    else:
        lines += [markdown_table(["GPU", "sine preset CPU s", "sine preset CUDA s", "CUDA speed-up"],
                                 [[gpu["device"], f"{gpu['sine_preset_cpu_s']:.1f}", f"{gpu['sine_preset_cuda_s']:.1f}",
                                   f"{gpu['cuda_over_cpu_speed']:.2f}x"]])]
    lines += [f"Machine: {payload['machine']}", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--cells", nargs="+", default=["rnn", "lstm", "gru"])
    parser.add_argument("--steps", type=int, default=10_000_000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--scale-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.scale_child is not None:
        print(json.dumps(scale_child(args.scale_child, args.device)))
        return
    payload = {"args": vars(args), "machine": machine()}
    payload["training"] = training(args.cells, args.repeats, args.epochs)
    payload["scaling"] = scaling(args.steps, args.device)
    payload["streaming"] = streaming_and_precision(args.device, args.repeats)
    payload["gpu"] = gpu_figures(args.repeats, args.epochs)
    md = markdown(payload)
    write_results("speed", payload, md)
    print(md)


if __name__ == "__main__":
    main()

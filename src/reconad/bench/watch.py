"""The ``watch`` suite: throughput of ``reconad watch`` against batch scoring of the same rows, in one run.

Watch's path is the command's own: CSV text read in 64 KiB chunks (what a pipe delivers), parsed by
:class:`~reconad.data.lines.LineReader`, scored by :class:`~reconad.live.AlarmWatcher` in its default exact mode
(with the per-feature contributions that name each event's sensors) and written as JSON lines. Batch scoring is
``det.anomaly_score`` on the rows already in memory (no parsing at all: the strictest reference), and the work of
``reconad score --regions`` (read the CSV, score, regions with their top features). Both ratios are throughputs,
watch over batch, medians of ``repeats`` runs; the events must be the batch regions and the scores the same bits.
"""

from __future__ import annotations

import io
import statistics
import time

import numpy as np

from reconad.bench.results import markdown_table, torch_threads
from reconad.bench.speed import series

CHUNK = 1 << 16


def watch_bytes(det, data: bytes, with_scores: bool = False) -> tuple[np.ndarray, list[dict], int]:
    """Run watch's pipeline over CSV ``data`` in 64 KiB chunks: (scores, events, bytes written)."""
    from reconad.commands.watch import update_lines
    from reconad.data.lines import LineReader
    from reconad.live import AlarmWatcher

    watcher = AlarmWatcher(det)
    reader = LineReader(det.feature_names_in_, det.n_features_in_, fmt="csv")
    scores, events, written = [], [], 0
    sink = io.StringIO()

    def out(update) -> None:
        nonlocal written
        scores.append(update.scores)
        events.extend(update.events)
        text = "".join(line + "\n" for line in update_lines(update, with_scores))
        written += sink.write(text)
        sink.seek(0)

    for begin in range(0, len(data), CHUNK):
        parsed = reader.feed(data[begin : begin + CHUNK])
        if len(parsed.rows):
            out(watcher.update(parsed.rows, parsed.times))
    out(watcher.finish())
    return np.concatenate(scores), events, written


def batch_command(det, path) -> list[tuple[int, int]]:
    """What ``reconad score --regions`` computes: read the table, score, the regions and their top features."""
    from reconad.data.tables import read_table
    from reconad.metrics import regions

    table = read_table(path, columns=det.feature_names_in_)
    scores = det.anomaly_score(table.features)
    spans = regions(det.threshold_.predict(scores))
    det.explain_regions(table.features, spans)
    return spans


def paired_times(functions: dict, repeats: int) -> dict:
    """Each function's median seconds over ``repeats`` rounds, the functions taking turns within a round (so a
    busy spell on a shared machine slows them alike, and the ratios stay fair)."""
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            began = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - began)
    return {name: statistics.median(values) for name, values in times.items()}


def run(repeats: int = 3, steps: int = 200_000, progress=None) -> dict:
    """The ``watch`` suite on one torch thread."""
    import tempfile
    from pathlib import Path

    import pandas as pd

    from reconad.detectors import SeriesDetector
    from reconad.metrics import regions

    with torch_threads(1), tempfile.TemporaryDirectory() as folder:
        x = series(steps, seed=2)
        x[steps // 3 : steps // 3 + 50, 2] += 3.0  # two faults, so there are events to compare
        x[2 * steps // 3 : 2 * steps // 3 + 80, 5] -= 3.0
        names = [f"s{j}" for j in range(x.shape[1])]
        det = SeriesDetector(epochs=2, verbose=False, random_state=0).fit(pd.DataFrame(series(5_000, seed=1),
                                                                                         columns=names))
        frame = pd.DataFrame(x, columns=names)
        path = Path(folder) / "rows.csv"
        frame.to_csv(path, index=False)
        data = path.read_bytes()
        rows = pd.read_csv(path)[names].to_numpy(np.float32)  # the parsed values, as both paths read them
        batch_scores = det.anomaly_score(rows)
        watched, events, _ = watch_bytes(det, data)
        same_bits = bool(np.array_equal(watched, batch_scores))
        same_events = [(e["start"], e["end"]) for e in events] == regions(det.threshold_.predict(batch_scores))
        if progress:
            progress(f"watch: {len(events)} events, same bits {same_bits}, same events {same_events}")
        seconds = paired_times({"batch": lambda: det.anomaly_score(rows), "command": lambda: batch_command(det, path),
                                "watch": lambda: watch_bytes(det, data),
                                "scores": lambda: watch_bytes(det, data, with_scores=True)}, repeats)
        batch_s, command_s, watch_s, scores_s = (seconds[k] for k in ("batch", "command", "watch", "scores"))
    return {"args": {"repeats": repeats, "steps": steps, "features": x.shape[1], "window": det.window_,
                     "csv_mb": len(data) / 1e6},
            "events": len(events), "same_bits": same_bits, "same_events": same_events,
            "batch_score_s": batch_s, "batch_command_s": command_s, "watch_s": watch_s,
            "watch_with_scores_s": scores_s,
            "watch_rows_per_s": steps / watch_s, "batch_rows_per_s": steps / batch_s,
            "ratio_vs_anomaly_score": batch_s / watch_s, "ratio_vs_score_command": command_s / watch_s,
            "ratio_with_scores_vs_anomaly_score": batch_s / scores_s}


def markdown(payload: dict) -> str:
    args = payload["args"]
    rows = [["`det.anomaly_score` (rows in memory)", f"{payload['batch_score_s']:.2f}",
             f"{args['steps'] / payload['batch_score_s']:,.0f}", "1.00 (reference)"],
            ["`reconad score --regions` work (read CSV, score, regions + top features)",
             f"{payload['batch_command_s']:.2f}", f"{args['steps'] / payload['batch_command_s']:,.0f}", "–"],
            ["`reconad watch` (CSV in 64 KiB chunks, events)", f"{payload['watch_s']:.2f}",
             f"{payload['watch_rows_per_s']:,.0f}", f"{payload['ratio_vs_anomaly_score']:.2f}"],
            ["`reconad watch --scores` (a JSON line per row too)", f"{payload['watch_with_scores_s']:.2f}",
             f"{args['steps'] / payload['watch_with_scores_s']:,.0f}",
             f"{payload['ratio_with_scores_vs_anomaly_score']:.2f}"]]
    lines = ["# Watch throughput", "",
             f"`reconad bench watch` (or `python benchmarks/watch.py`): {args['steps']:,} rows x {args['features']} "
             f"features ({args['csv_mb']:.1f} MB of CSV), the default model (window {args['window']}), one torch "
             f"thread, medians of {args['repeats']} rounds in one process (the paths take turns in each round).", "",
             markdown_table(["path", "seconds", "rows/s", "throughput / anomaly_score's"], rows),
             f"Watch over the `reconad score --regions` work: {payload['ratio_vs_score_command']:.2f}. "
             f"Watch's scores equal batch scoring's bit for bit: {payload['same_bits']}; its {payload['events']} "
             f"events equal the batch regions: {payload['same_events']}.", "",
             f"Machine: {payload.get('machine')}", ""]
    return "\n".join(lines)

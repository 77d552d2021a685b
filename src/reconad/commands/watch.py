"""``reconad watch MODEL``: score rows as they arrive (standard input, a growing file, or MQTT) and write one JSON
line per confirmed alarm event to standard output (``--scores``: one per row's score too).

It composes with ordinary tools (``tail -f log.csv | reconad watch pump.reconad | jq``). End of input closes the
stream (the last scores, an event still open) and exits 0; Ctrl-C (or SIGTERM) does the same and exits 130 (143).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from reconad.commands.files import check_input, load_detector
from reconad.errors import InputError

EXIT_OK, EXIT_BAD_INPUT = 0, 2
EXITS = {signal.SIGINT: 130, signal.SIGTERM: 143}
CHUNK = 1 << 16  # bytes per read: whatever is available, up to this


class Interrupts:
    """Ctrl-C and SIGTERM, taken only between chunks: a half-fed stream would give wrong scores.

    While a source waits for input the signal interrupts the wait at once; while rows are being scored it is noted
    and acted on after them.
    """

    def __init__(self):
        self.waiting = False
        self.signal: int | None = None

    def __enter__(self) -> Interrupts:
        self._old = {sig: signal.signal(sig, self._handle) for sig in EXITS}
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)

    def _handle(self, sig, frame) -> None:
        self.signal = sig
        if self.waiting:
            raise KeyboardInterrupt

    def chunks(self, source):
        """The source's chunks, until it ends or a signal arrives."""
        iterator = iter(source)
        while self.signal is None:
            self.waiting = True
            try:
                chunk = next(iterator)
            except (StopIteration, KeyboardInterrupt):
                return
            finally:
                self.waiting = False
            yield chunk


def stdin_chunks(stream=None):
    """Bytes from standard input as they become available (a pipe gives what was written, up to 64 KiB)."""
    fd = (stream or sys.stdin.buffer).fileno()
    while data := os.read(fd, CHUNK):
        yield data


def follow_chunks(path: Path, poll: float = 0.2):
    """A file's bytes from its start, then what is appended to it, as ``tail -f`` (until interrupted)."""
    with path.open("rb") as handle:
        while True:
            data = handle.read(CHUNK)
            if data:
                yield data
            else:
                time.sleep(poll)


def write_lines(lines: list[str]) -> None:
    if lines:
        sys.stdout.write("".join(line + "\n" for line in lines))
        sys.stdout.flush()


def update_lines(update, with_scores: bool) -> list[str]:
    """The JSON lines of one update: each row's score (``--scores``), then the events it confirmed."""
    lines = []
    if with_scores:  # formatted by hand: json.dumps per row would cost more than scoring it (floats: repr, as json)
        rows = range(update.first, update.first + len(update.scores))
        scores, labels = update.scores.tolist(), update.labels.tolist()
        if update.times is None:
            lines = [f'{{"type": "score", "row": {i}, "score": {s!r}, "label": {k}}}'
                     for i, s, k in zip(rows, scores, labels)]
        else:
            lines = [f'{{"type": "score", "row": {i}, "score": {s!r}, "label": {k}, "time": {json.dumps(t)}}}'
                     for i, s, k, t in zip(rows, scores, labels, update.times)]
    lines.extend(json.dumps({"type": "alarm", **event}) for event in update.events)
    return lines


def report_bad(parsed, policy: str) -> None:
    """One line on standard error per malformed line, and per row skipped for its time (a repeated delivery)."""
    action = "skipped" if policy == "skip" else "stopping"
    lines = [f"line {number}: {problem} ({action})" for number, problem in parsed.bad]
    lines += [f"line {number}: {problem}: a repeated or late row (skipped)" for number, problem in parsed.repeated]
    for line in lines:
        print(f"reconad watch: {line}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """The ``watch`` handler."""
    from reconad.commands.alarms import apply_options
    from reconad.data.lines import LineReader
    from reconad.live import AlarmWatcher

    if args.follow is not None and args.mqtt is not None:
        raise InputError("pass either --follow FILE or --mqtt HOST:PORT, not both (without either: standard input)")
    if args.mqtt is None and (args.topic or args.alarms_topic or args.client_id):
        raise InputError("--topic, --alarms-topic and --client-id go with --mqtt HOST:PORT")
    follow = check_input(args.follow, "followed file") if args.follow is not None else None
    det = load_detector(args.model, quiet=True)
    if getattr(det, "kind", "") != "series":
        raise InputError(f"{args.model} holds an image model; reconad watch scores rows of a series model")
    apply_options(det, args)
    watcher = AlarmWatcher(det, exact=not args.low_latency, rate_period=args.rate_period)
    reader = LineReader(det.feature_names_in_, det.n_features_in_, fmt=args.format, time_col=args.time_col,
                        sep=args.sep, on_bad=args.on_bad_line)
    link = None
    if args.mqtt is not None:
        from reconad.mqtt import MqttLink

        def status(line: str) -> None:
            print(f"reconad watch: {line}", file=sys.stderr, flush=True)

        link = MqttLink.from_args(args, on_status=status)
        source, publish = link.chunks(), link.publish
    else:
        source, publish = (follow_chunks(follow) if follow else stdin_chunks()), None

    def out(update) -> None:
        write_lines(update_lines(update, args.scores))
        if publish is not None:
            for event in update.events:
                publish(json.dumps({"type": "alarm", **event}))

    def feed(parsed) -> None:
        report_bad(parsed, args.on_bad_line)
        if len(parsed.rows):
            out(watcher.update(parsed.rows, parsed.times))

    with Interrupts() as interrupts:
        try:
            for chunk in interrupts.chunks(source):
                feed(reader.feed(chunk))
                if reader.stopped:
                    break
            if interrupts.signal is None:
                feed(reader.close())
            if watcher.n_seen >= watcher.stream.window:
                out(watcher.finish())
        finally:
            if link is not None:
                link.close()
    return summary(watcher, reader, interrupts.signal, args)


def summary(watcher, reader, sig, args) -> int:
    """One line on standard error about the run; the exit code."""
    window = watcher.stream.window
    parts = [f"watched {watcher.n_seen:,} rows: {watcher.n_events} alarm event(s)"]
    if reader.n_repeated:
        parts.append(f"{reader.n_repeated} repeated or late row(s) skipped")
    if reader.n_bad:
        parts.append(f"{reader.n_bad} malformed line(s) {'skipped' if args.on_bad_line == 'skip' else 'stopped at'}")
    if watcher.n_scored:
        rate = watcher.rate()
        budget = "unknown" if rate["budget"] is None else f"{rate['budget']:.3g}"
        verdict = {True: "retraining is due", False: "within budget", None: "no budget to compare"}[rate["due"]]
        parts.append(f"alarm rate over the last {rate['rows']:,} rows {rate['rate']:.3g} per {rate['per']:,} "
                     f"(budget {budget}), {rate['flagged_share']:.1%} of them flagged: {verdict}")
    print("reconad watch: " + "; ".join(parts), file=sys.stderr)
    if sig is not None:
        return EXITS[sig]
    if reader.stopped:
        raise InputError(f"stopped at a malformed line (--on-bad-line stop); {watcher.n_seen:,} rows before it scored")
    if watcher.n_seen < window:
        raise InputError(f"the input ended after {watcher.n_seen} rows, fewer than one window ({window}); "
                         "no score can be computed")
    return EXIT_OK

"""``reconad watch`` and :class:`reconad.live.AlarmWatcher`: live rows give exactly the batch scores and regions."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import reconad
from reconad.cli import main
from reconad.live import AlarmWatcher, alarm_rate
from reconad.metrics import regions
from reconad.thresholds import AlarmBudget

FAULTS = (900, 1500, 2200, 2980)  # 15-row faults; the last one runs to the end of the series


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("watch")
    rng = np.random.default_rng(1)
    t = np.arange(3000)
    x = np.stack([np.sin(t / 10), np.cos(t / 15), np.sin(t / 7)], 1) + 0.1 * rng.normal(size=(3000, 3))
    for start in FAULTS:
        x[start : start + 15, (start // 100) % 3] += 3.0
    frame = pd.DataFrame(x.astype(np.float32), columns=["a", "b", "c"])
    frame.insert(0, "time", t)
    frame.to_csv(folder / "data.csv", index=False)
    det = reconad.SeriesDetector(window=12, stride=4, epochs=3, verbose=False, random_state=0)
    det.fit(frame[["a", "b", "c"]][:600]).save(folder / "m.reconad")
    return folder, frame, reconad.load(folder / "m.reconad")


def watch_process(folder, *args, stdin=subprocess.PIPE):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-m", "reconad", "watch", str(folder / "m.reconad"), *args],
                            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def lines_of(text: str, kind: str) -> list[dict]:
    return [record for record in map(json.loads, text.splitlines()) if record["type"] == kind]


def test_rows_piped_one_line_at_a_time_give_the_batch_scores_and_regions_bit_for_bit(files):
    folder, frame, _ = files
    assert main(["score", str(folder / "m.reconad"), str(folder / "data.csv"), "--out", str(folder / "s.parquet"),
                 "--regions", str(folder / "r.csv"), "--time-col", "time", "--quiet"]) == 0
    batch, spans = pd.read_parquet(folder / "s.parquet"), pd.read_csv(folder / "r.csv")
    process = watch_process(folder, "--time-col", "time", "--scores")
    for line in (folder / "data.csv").read_text().splitlines(keepends=True):
        process.stdin.write(line.encode())
        process.stdin.flush()
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    scores = lines_of(out.decode(), "score")
    assert [s["row"] for s in scores] == list(range(3000))
    assert np.array_equal([s["score"] for s in scores], batch["score"].to_numpy())  # bit for bit
    assert [s["label"] for s in scores] == batch["label"].tolist()
    events = lines_of(out.decode(), "alarm")
    assert len(events) == len(spans) >= len(FAULTS)
    for event, (_, span) in zip(events, spans.iterrows()):
        assert (event["start"], event["end"], event["length"]) == (span["start"], span["end"], span["length"])
        assert event["max_score"] == span["max_score"]
        assert (event["start_time"], event["end_time"]) == (str(span["start_time"]), str(span["end_time"]))
        named = "; ".join(f"{f['feature']} ({100 * f['share']:.0f}%)" for f in event["top_features"])
        assert named == span["top_features"]
    for fault in FAULTS:  # each injected fault is one event near it, led by the sensor it was injected in
        event = next(e for e in events if e["start"] - 12 <= fault < e["end"])
        assert event["top_features"][0]["feature"] == "abc"[(fault // 100) % 3]
    assert events[-1]["end"] >= 2995  # the fault at the end: an event still open at EOF is closed
    assert b"watched 3,000 rows: 4 alarm event(s)" in err


@pytest.mark.parametrize("exact", [True, False])
def test_the_watcher_fed_row_by_row_and_in_odd_chunks_gives_the_batch_regions(files, exact):
    _, frame, det = files
    x = frame[["a", "b", "c"]].to_numpy()
    expected = regions(det.predict(x))
    for sizes in ([1], [7, 1, 333, 2]) if exact else ([7, 1, 333, 2],):
        watcher, updates, begin, k = AlarmWatcher(det, exact=exact), [], 0, 0
        while begin < len(x):
            size = sizes[k % len(sizes)]
            updates.append(watcher.update(x[begin : begin + size]))
            begin, k = begin + size, k + 1
        updates.append(watcher.finish())
        events = [e for u in updates for e in u.events]
        assert [(e["start"], e["end"]) for e in events] == expected
        scores = np.concatenate([u.scores for u in updates])
        if exact:
            assert np.array_equal(scores, det.anomaly_score(x))
        else:
            np.testing.assert_allclose(scores, det.anomaly_score(x), rtol=1e-5)
        assert len(watcher.stream._rows) <= det.scorer_.batch_size() + 12  # bounded, whatever the length


def test_malformed_lines_are_named_and_skipped_or_stop_the_watch(files, monkeypatch, capsys):
    folder, frame, det = files
    text = (folder / "data.csv").read_text().splitlines()
    text[101] = "101,1.0,oops,2.0"  # line 102 of the file
    text[201] = "201,1.0"  # too few fields
    text[301] = "301,nan,0,0"
    bad = folder / "bad.csv"
    bad.write_text("\n".join(text[:400]) + "\n")
    monkeypatch.setattr(sys, "stdin", open(bad))
    assert main(["watch", str(folder / "m.reconad"), "--scores"]) == 0
    out, err = capsys.readouterr()
    assert "line 102: b is 'oops', not a number (skipped)" in err
    assert "line 202: it has 2 fields, the header 4 (skipped)" in err
    assert "line 302: a is 'nan', not a finite number (skipped)" in err
    assert "watched 396 rows" in err and "3 malformed line(s) skipped" in err
    assert len(lines_of(out, "score")) == 396
    monkeypatch.setattr(sys, "stdin", open(bad))
    assert main(["watch", str(folder / "m.reconad"), "--scores", "--on-bad-line", "stop"]) == 2
    out, err = capsys.readouterr()
    assert "line 102: b is 'oops', not a number (stopping)" in err and "line 202" not in err
    assert len(lines_of(out, "score")) == 100  # the rows before it were scored and flushed
    assert "stopped at a malformed line" in err


def test_json_lines_and_arrays_give_the_same_scores_as_csv(files, monkeypatch, capsys):
    folder, frame, det = files
    rows = frame[:300]
    jsonl = folder / "rows.jsonl"
    with jsonl.open("w") as handle:
        for i, row in enumerate(rows.itertuples(index=False)):
            item = {"time": int(row.time), "c": float(row.c), "b": float(row.b), "a": float(row.a)}
            handle.write(json.dumps(item if i % 2 else [item["a"], item["b"], item["c"]]) + "\n")
    monkeypatch.setattr(sys, "stdin", open(jsonl))
    assert main(["watch", str(folder / "m.reconad"), "--scores", "--low-latency"]) == 0
    scores = [s["score"] for s in lines_of(capsys.readouterr().out, "score")]
    np.testing.assert_allclose(scores, det.anomaly_score(rows[["a", "b", "c"]]), rtol=1e-5)


def test_ctrl_c_on_a_followed_file_flushes_the_scores_closes_the_event_and_exits_130(files):
    folder, frame, det = files
    growing = folder / "growing.csv"
    lines = (folder / "data.csv").read_text().splitlines(keepends=True)
    growing.write_text("".join(lines[:1001]))  # rows 0..999: the first fault (900) confirmed
    process = watch_process(folder, "--follow", str(growing), "--scores", "--low-latency", stdin=subprocess.DEVNULL)
    seen = [json.loads(process.stdout.readline())]  # blocks until the watch is scoring
    with growing.open("a") as handle:  # appended while it watches: rows 1000..2989, in a fault when interrupted
        handle.write("".join(lines[1001:2991]))
    while seen[-1].get("row", 0) < 2990 - 20:  # scores lag a window and the smoothing: all rows were read
        seen.append(json.loads(process.stdout.readline()))
    process.send_signal(signal.SIGINT)
    out, err = process.stdout.read(), process.stderr.read()  # the reader's buffer first (communicate skips it)
    assert process.wait(timeout=60) == 130, err
    records = seen + [json.loads(line) for line in out.decode().splitlines()]
    assert [r["row"] for r in records if r["type"] == "score"] == list(range(2990))  # every row fed: its score
    x = frame[["a", "b", "c"]].to_numpy()[:2990]
    events = [(r["start"], r["end"]) for r in records if r["type"] == "alarm"]
    assert events == regions(det.predict(x))
    assert events[-1][1] == 2990  # the event still open, closed at the last row


def test_the_alarm_rate_says_when_retraining_is_due(files):
    _, frame, det = files
    det = reconad.load(files[0] / "m.reconad").set_threshold(AlarmBudget(alarms=2, per=10_000))
    assert alarm_rate(det, events=3, steps=10_000) == {"events": 3, "rows": 10_000, "per": 10_000, "rate": 3.0,
                                                       "budget": 2.0, "flagged_share": None, "due": False}
    assert alarm_rate(det, events=5, steps=10_000)["due"] is True  # over twice the budget
    assert alarm_rate(det, events=1, steps=1_000, per=1_000)["rate"] == 1.0
    watcher = AlarmWatcher(det, rate_period=1_000)
    x = frame[["a", "b", "c"]].to_numpy()
    watcher.update(x)
    watcher.finish()
    ends = [e for _, e in regions(det.predict(x)) if e > 2000]  # the events that ended in the last 1,000 rows
    assert watcher.rate()["events"] == len(ends) and watcher.rate()["rows"] == 1_000
    flags = det.predict(x)
    assert watcher.rate()["flagged_share"] == flags[2000:].sum() / 1_000  # the last whole blocks of 1,000 rows


def test_watch_refuses_conflicting_sources_and_missing_columns(files, monkeypatch, capsys):
    folder, _, _ = files
    assert main(["watch", str(folder / "m.reconad"), "--follow", "x.csv", "--mqtt", "h:1"]) == 2
    assert "either --follow FILE or --mqtt" in capsys.readouterr().err
    (folder / "short.csv").write_text("time,a,b\n1,2,3\n")
    monkeypatch.setattr(sys, "stdin", open(folder / "short.csv"))
    assert main(["watch", str(folder / "m.reconad")]) == 2
    assert "lacks the columns ['c']" in capsys.readouterr().err


def test_the_watch_benchmark_reports_both_paths_with_the_same_scores_and_events():
    from reconad.bench.watch import markdown, run

    payload = run(repeats=1, steps=3_000)
    assert payload["same_bits"] and payload["same_events"] and payload["events"] >= 1
    assert payload["ratio_vs_anomaly_score"] == payload["batch_score_s"] / payload["watch_s"] > 0
    assert "throughput / anomaly_score's" in markdown(payload)

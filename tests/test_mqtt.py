"""``reconad watch --mqtt`` against a real broker (Debian's mosquitto on a free loopback port), never a mock.

10,000 rows go through the broker one message each; the broker is stopped and restarted mid-stream (its
persistence keeps the watcher's session), and every row still arrives once, in order, and the alarm events on the
alarms topic are the batch regions.
"""

import getpass
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest
from conftest import require_module

import reconad
from reconad.metrics import regions

MOSQUITTO = shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if os.path.exists(p)), None)
pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="the mosquitto broker is not installed (apt-get install "
                                "mosquitto; .ci/run installs it)")
ROWS, FAULTS = 10_000, (1_200, 4_000, 6_500, 8_800)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Broker:
    """mosquitto with persistence on, so a restart keeps the sessions and their queued QoS 1 messages."""

    def __init__(self, folder):
        self.port, self.folder, self.process = free_port(), folder, None
        (folder / "mosquitto.conf").write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {folder}/\nmax_queued_messages 0\nset_tcp_nodelay true\nuser {getpass.getuser()}\n")

    def start(self) -> None:
        log = (self.folder / "broker.log").open("a")
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.folder / "mosquitto.conf")], stdout=log,
                                        stderr=log)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not open port {self.port}: {(self.folder / 'broker.log').read_text()}")

    def stop(self) -> None:
        self.process.terminate()  # SIGTERM: it saves the sessions and queued messages to its database
        self.process.wait(timeout=10)


class Client:
    """A paho client with a persistent session: publishes rows, or collects what a topic receives."""

    def __init__(self, port: int, name: str, topic: str | None = None):
        mqtt = require_module("paho.mqtt.client", "mqtt")
        self.received, self.connects = queue.Queue(), queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name, clean_session=False)
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.on_connect = lambda c, u, flags, reason, p: (topic and c.subscribe(topic, qos=1),
                                                                 self.connects.put(reason))
        self.client.on_message = lambda c, u, message: self.received.put(message.payload)
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()
        self.connects.get(timeout=10)

    def publish(self, topic: str, rows: pd.DataFrame) -> None:
        infos = [self.client.publish(topic, json.dumps(row), qos=1) for row in rows.to_dict("records")]
        for info in infos:
            info.wait_for_publish(timeout=30)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def lines(stream, into: queue.Queue) -> threading.Thread:
    thread = threading.Thread(target=lambda: [into.put(line.decode()) for line in iter(stream.readline, b"")],
                              daemon=True)
    thread.start()
    return thread


def wait_for(source: queue.Queue, seen: list, test, timeout: float = 30) -> None:
    """Take lines from ``source`` into ``seen`` until one passes ``test`` (each line is tested once)."""
    deadline = time.time() + timeout
    while True:
        seen.append(source.get(timeout=max(0.01, deadline - time.time())))
        if test(seen[-1]):
            return


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mqtt")
    rng = np.random.default_rng(5)
    t = np.arange(ROWS)
    x = np.stack([np.sin(t / 10), np.cos(t / 15), np.sin(t / 7)], 1) + 0.1 * rng.normal(size=(ROWS, 3))
    for start in FAULTS:
        x[start : start + 15, (start // 100) % 3] += 3.0
    frame = pd.DataFrame(x.astype(np.float32), columns=["a", "b", "c"])
    det = reconad.SeriesDetector(window=12, stride=4, epochs=3, verbose=False, random_state=0).fit(frame[:600])
    det.save(folder / "m.reconad")
    frame.insert(0, "time", t)
    return folder, frame, det


def test_rows_through_a_restarted_broker_all_arrive_and_give_the_batch_alarm_events(model, tmp_path):
    folder, frame, det = model
    broker = Broker(tmp_path)
    broker.start()
    alarms = Client(broker.port, "test-alarms", topic="alarms/pump1")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    watch = subprocess.Popen([sys.executable, "-m", "reconad", "watch", str(folder / "m.reconad"), "--mqtt",
                              f"127.0.0.1:{broker.port}", "--topic", "sensors/pump1", "--alarms-topic",
                              "alarms/pump1", "--time-col", "time", "--scores", "--low-latency"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err, said, records = queue.Queue(), queue.Queue(), [], []
    reader = lines(watch.stdout, out)
    lines(watch.stderr, err)
    publisher = None
    try:
        wait_for(err, said, lambda line: "subscribed to sensors/pump1 (QoS 1)" in line, timeout=40)
        publisher = Client(broker.port, "test-rows")
        publisher.publish("sensors/pump1", frame[:5_000])
        wait_for(out, records, lambda line: json.loads(line).get("row", 0) >= 5_000 - 20)  # all read (lag 14)
        broker.stop()
        wait_for(err, said, lambda line: "lost" in line)
        broker.start()
        publisher.connects.get(timeout=10)  # back before the watcher, whose back-off is longer
        publisher.publish("sensors/pump1", frame[5_000:])  # queued by the broker for the watcher's session
        wait_for(err, said, lambda line: "(session resumed)" in line)  # the broker kept the session
        wait_for(out, records, lambda line: json.loads(line).get("row", 0) >= ROWS - 20)
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=30) == 130, "".join(said)
        expected = regions(det.predict(frame[["a", "b", "c"]]))
        published = [json.loads(alarms.received.get(timeout=10)) for _ in expected]
    finally:
        watch.kill() if watch.poll() is None else None
        for client in (publisher, alarms):
            if client is not None:
                client.close()
        broker.stop()
    reader.join(timeout=10)  # the last lines, up to the end of the watcher's output
    while not out.empty():
        records.append(out.get())
    parsed = [json.loads(line) for line in records]
    scored = [r["row"] for r in parsed if r["type"] == "score"]
    assert scored == list(range(ROWS))  # every row once, in order: none lost across the restart
    assert len(expected) >= len(FAULTS)
    assert [(r["start"], r["end"]) for r in parsed if r["type"] == "alarm"] == expected
    assert alarms.received.empty()  # no more events than the batch regions
    assert [(e["start"], e["end"]) for e in published] == expected  # the alarms topic got the same events
    assert all(e["type"] == "alarm" and e["top_features"] for e in published)

"""Load test of ``reconad serve``: concurrent clients against a real uvicorn server on 127.0.0.1.

Trains a small LSTM detector on the noisy sine, starts ``python -m reconad serve MODEL`` on 127.0.0.1 (a free port,
a bearer token in the environment) in a subprocess, and runs ``clients`` threads with one ``httpx.Client`` each
until ``requests`` requests are done or ``seconds`` have passed. Each request scores ``steps`` steps (a JSON
array); every 10th sends a NaN on purpose and must get 422. An *error* is any other outcome: a wrong status, a
transport failure, or scores that differ from the same detector in this process. The server is stopped at the
end whatever happens. Needs the ``serve`` extra (FastAPI, uvicorn, httpx).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from reconad.bench.results import markdown_table

HOST = "127.0.0.1"  # never anything else: this is a local load test
TOKEN = "load-test-token"
MODEL = dict(model="lstm", window=100, stride=10, hidden_size=32, epochs=2, random_state=0, verbose=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until_up(base: str, server: subprocess.Popen, timeout: float = 120.0) -> float:
    import httpx

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode} before answering")
        try:
            if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /health within {timeout:.0f} s")


def run_clients(base: str, payload: list, bad_payload: bytes, expected: np.ndarray, *, requests: int,
                seconds: float, clients: int, steps: int) -> dict:
    """Drive the server with ``clients`` threads; latencies, statuses and errors."""
    import httpx

    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    def ticket() -> int | None:
        nonlocal issued
        with lock:
            if issued >= requests or time.perf_counter() >= deadline:
                return None
            issued += 1
            return issued

    def client_loop() -> None:
        headers = {"authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60.0) as client:
            while (number := ticket()) is not None:
                bad = number % 10 == 0
                began = time.perf_counter()
                try:
                    if bad:
                        response = client.post("/score", content=bad_payload,
                                               headers={"content-type": "application/json"})
                    else:
                        response = client.post("/score", json=payload)
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append(f"transport: {type(exc).__name__}: {exc}")
                    continue
                elapsed = time.perf_counter() - began
                problem = None
                if bad and (response.status_code != 422 or "error" not in response.json()):
                    problem = f"NaN request got {response.status_code}"
                elif not bad:
                    if response.status_code != 200:
                        problem = f"good request got {response.status_code}: {response.text[:200]}"
                    elif not np.allclose(response.json()["scores"], expected, rtol=1e-9, atol=0):
                        problem = "scores differ from the in-process detector"
                with lock:
                    latencies.append(elapsed)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    if problem:
                        errors.append(problem)

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    ms = np.asarray(latencies) * 1000 if latencies else np.zeros(1)
    return {
        "requests": len(latencies),
        "seconds": round(wall, 3),
        "requests_per_s": round(len(latencies) / wall, 2),
        "steps_per_s": int(len(latencies) * steps / wall),
        "latency_ms": {q: round(float(np.percentile(ms, p)), 2) for q, p in (("p50", 50), ("p90", 90), ("p99", 99))}
        | {"max": round(float(ms.max()), 2)},
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:5],
    }


def health_under_load(base: str, body: bytes, large: int = 8, probe_s: float = 0.1) -> dict:
    """``/health`` latency while ``large`` requests of ``body`` (megabytes of JSON) are parsed, scored and encoded.

    The service answers /health on its event loop and does the heavy work in its worker pool, so this should stay
    far under a second (issue 36 measured 8.3 s when the answer was encoded on the event loop).
    """
    import httpx

    outcomes: list[int] = []
    done = threading.Event()

    def heavy() -> None:
        with httpx.Client(base_url=base, headers={"authorization": f"Bearer {TOKEN}"}, timeout=600.0) as client:
            outcomes.append(client.post("/score", content=body, headers={"content-type": "application/json"})
                            .status_code)

    threads = [threading.Thread(target=heavy) for _ in range(large)]
    for thread in threads:
        thread.start()
    latencies = []
    with httpx.Client(base_url=base, timeout=30.0) as probe:
        waiter = threading.Thread(target=lambda: ([t.join() for t in threads], done.set()))
        waiter.start()
        began = time.perf_counter()
        while not done.is_set():
            started = time.perf_counter()
            probe.get("/health")
            latencies.append(time.perf_counter() - started)
            time.sleep(probe_s)
        waiter.join()
    ms = np.asarray(latencies) * 1000
    return {"large_requests": large, "request_bytes": len(body), "statuses": sorted(outcomes),
            "seconds": round(time.perf_counter() - began, 2), "probes": len(latencies),
            "health_ms": {"p50": round(float(np.percentile(ms, 50)), 1), "p99": round(float(np.percentile(ms, 99)), 1),
                          "max": round(float(ms.max()), 1)}}


def run(requests: int = 2000, seconds: float = 60.0, clients: int = 32, steps: int = 1000, progress=None) -> dict:
    """The ``serve-load`` suite; raises ValueError for an unbounded test."""
    import httpx

    from reconad.data import make_sine
    from reconad.detectors import SeriesDetector

    if not (1 <= requests <= 100_000 and 0 < seconds <= 600 and 1 <= clients <= 256 and 1 <= steps <= 1_000_000):
        raise ValueError("keep the test bounded: requests 1..100000, seconds (0, 600], clients 1..256, "
                         "steps 1..1000000")
    data = make_sine(0, "independent")
    det = SeriesDetector(**MODEL).fit(data.train)
    series = np.resize(data.test, steps).astype(np.float64)
    payload = series.tolist()
    bad_payload = json.dumps([*payload[:-1], float("nan")]).encode()  # NaN: not strict JSON, Python writes it
    expected = det.anomaly_score(series)
    with tempfile.TemporaryDirectory() as folder:
        model = Path(folder) / "sine.reconad"
        det.save(model)
        base = f"http://{HOST}:{free_port()}"
        env = {**os.environ, "RECONAD_TOKEN": TOKEN}
        command = [sys.executable, "-m", "reconad", "serve", str(model), "--host", HOST, "--port",
                   base.rsplit(":", 1)[1]]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            startup = wait_until_up(base, server)
            if progress:
                progress(f"server up after {startup:.1f} s")
            unauthorized = httpx.post(f"{base}/score", json=payload, timeout=30).status_code
            result = run_clients(base, payload, bad_payload, expected, requests=requests, seconds=seconds,
                                 clients=clients, steps=steps)
            big = json.dumps(np.resize(data.test, 20_000).astype(np.float64).tolist()).encode()  # ~0.4 MB each
            result["health_under_load"] = health_under_load(base, big)
            if progress:
                progress(f"/health under 8 large requests: {result['health_under_load']['health_ms']} ms")
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    result.update(startup_s=round(startup, 2), request_without_token=unauthorized)
    return {"benchmark": "serve_load",
            "settings": {"clients": clients, "max_requests": requests, "max_seconds": seconds,
                         "steps_per_request": steps, "request_bytes": len(json.dumps(payload)), "model": MODEL,
                         "bad_requests": "every 10th request holds a NaN and must get 422"},
            "result": result}


def markdown(record: dict) -> str:
    s, result = record["settings"], record["result"]
    lat = result["latency_ms"]
    machine = record.get("machine") or {}
    return (
        "# `reconad serve` under load\n\n"
        f"`reconad bench serve-load` (or `python benchmarks/serve_load.py`) — {s['clients']} concurrent clients "
        f"(threads, one `httpx.Client` each) against `reconad serve` (uvicorn, one process) on 127.0.0.1, bounded by "
        f"{s['max_requests']} requests or {s['max_seconds']:g} s. Each request scores {s['steps_per_request']} steps "
        f"({s['request_bytes']:,} bytes of JSON) with an LSTM auto-encoder (window 100, hidden 32); every 10th "
        "request holds a NaN and must be answered 422.\n\n"
        + markdown_table(
            ["requests", "seconds", "requests/s", "steps/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"],
            [[result["requests"], result["seconds"], result["requests_per_s"], result["steps_per_s"], lat["p50"],
              lat["p90"], lat["p99"], lat["max"], result["errors"]]],
        )
        + f"\nStatuses: {result['statuses']}; a request without the token got {result['request_without_token']}. "
        f"Server start-up (load the model, bind): {result['startup_s']} s. An *error* is a wrong status, a transport "
        "failure, or scores that differ from the same detector scored in the client's process.\n\n"
        + _health_line(result.get("health_under_load"))
        + f"Machine: {machine.get('cpu_count')} CPUs ({machine.get('platform')}), torch {machine.get('torch')}, shared "
        "with other work while it ran: the numbers are a floor, not a ceiling.\n"
    )


def _health_line(health: dict | None) -> str:
    if not health:
        return ""
    ms = health["health_ms"]
    return (f"`/health` while {health['large_requests']} requests of {health['request_bytes'] / 1e6:.1f} MB of JSON "
            f"ran at once ({health['seconds']} s, statuses {health['statuses']}): p50 {ms['p50']} ms, p99 {ms['p99']} "
            f"ms, max {ms['max']} ms over {health['probes']} probes.\n\n")

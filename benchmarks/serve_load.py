"""Load test of ``reconad serve``: 32 concurrent clients against a real uvicorn server on 127.0.0.1.

Trains a small LSTM detector on the noisy sine, starts ``python -m reconad serve MODEL`` on 127.0.0.1 (a free
port, a bearer token from the environment) in a subprocess, and runs ``--clients`` threads with one
``httpx.Client`` each until ``--requests`` requests are done or ``--seconds`` have passed. Each request scores
``--steps`` steps (a JSON array); every 10th sends a NaN on purpose and must get 422. An *error* is any other
outcome: a wrong status, a transport failure, or scores that differ from the same detector in this process.
Records requests/s, latency percentiles and the error count in ``results/serve_load.{json,md}``; the server
is stopped at the end whatever happens.

    python benchmarks/serve_load.py [--requests 2000] [--seconds 60] [--clients 32] [--steps 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, markdown_table, write_results  # noqa: E402

from reconad import SeriesDetector  # noqa: E402
from reconad.data import make_sine  # noqa: E402

HOST = "127.0.0.1"  # never anything else: this is a local load test
TOKEN = "load-test-token"
JSON = {"content-type": "application/json"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_until_up(base: str, server: subprocess.Popen, timeout: float = 120.0) -> float:
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


def run_clients(base: str, payload: list, bad_payload: bytes, expected: np.ndarray, args) -> dict:
    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    deadline = time.perf_counter() + args.seconds
    headers = {"authorization": f"Bearer {TOKEN}"}

    def ticket() -> int | None:
        nonlocal issued
        with lock:
            if issued >= args.requests or time.perf_counter() >= deadline:
                return None
            issued += 1
            return issued

    def client_loop() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=60.0) as client:
            while (number := ticket()) is not None:
                bad = number % 10 == 0
                began = time.perf_counter()
                try:
                    if bad:
                        response = client.post("/score", content=bad_payload, headers=JSON)
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

    threads = [threading.Thread(target=client_loop) for _ in range(args.clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    ms = np.asarray(latencies) * 1000
    return {
        "requests": len(latencies),
        "seconds": round(wall, 3),
        "requests_per_s": round(len(latencies) / wall, 2),
        "steps_per_s": int(len(latencies) * args.steps / wall),
        "latency_ms": {
            "p50": round(float(np.percentile(ms, 50)), 2),
            "p90": round(float(np.percentile(ms, 90)), 2),
            "p99": round(float(np.percentile(ms, 99)), 2),
            "max": round(float(ms.max()), 2),
        },
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="stop after this many requests (default 2000)")
    parser.add_argument("--seconds", type=float, default=60.0, help="or after this many seconds (default 60)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--steps", type=int, default=1000, help="steps per request (default 1000)")
    args = parser.parse_args()
    if not (1 <= args.requests <= 100_000 and 0 < args.seconds <= 600 and 1 <= args.clients <= 256):
        parser.error("keep the test bounded: requests 1..100000, seconds (0, 600], clients 1..256")

    data = make_sine(0, "independent")
    config = dict(model="lstm", window=100, stride=10, hidden_size=32, epochs=2, random_state=0, verbose=False)
    det = SeriesDetector(**config).fit(data.train)
    series = np.resize(data.test, args.steps).astype(np.float64)
    payload = series.tolist()
    bad_payload = json.dumps([*payload[:-1], float("nan")]).encode()  # NaN: not strict JSON, Python writes it
    expected = det.anomaly_score(series)

    with tempfile.TemporaryDirectory() as folder:
        model = Path(folder) / "sine.reconad"
        det.save(model)
        port = free_port()
        base = f"http://{HOST}:{port}"
        env = {**os.environ, "RECONAD_TOKEN": TOKEN}
        command = [sys.executable, "-m", "reconad", "serve", str(model), "--host", HOST, "--port", str(port)]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            startup = wait_until_up(base, server)
            unauthorized = httpx.post(f"{base}/score", json=payload, timeout=30).status_code
            result = run_clients(base, payload, bad_payload, expected, args)
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    result.update(startup_s=round(startup, 2), request_without_token=unauthorized)
    payload_bytes = len(httpx.Request("POST", base, json=payload).content)
    record = {
        "benchmark": "serve_load",
        "command": "python benchmarks/serve_load.py " + " ".join(sys.argv[1:]),
        "settings": {"clients": args.clients, "max_requests": args.requests, "max_seconds": args.seconds,
                     "steps_per_request": args.steps, "request_bytes": payload_bytes, "model": config,
                     "bad_requests": "every 10th request holds a NaN and must get 422"},
        "result": result,
        "machine": machine(),
    }
    lat = result["latency_ms"]
    markdown = (
        "# `reconad serve` under load\n\n"
        f"`{record['command'].strip()}` — {args.clients} concurrent clients (threads, one `httpx.Client` each) "
        f"against `reconad serve` (uvicorn, one process) on 127.0.0.1, bounded by {args.requests} requests or "
        f"{args.seconds:g} s. Each request scores {args.steps} steps ({payload_bytes:,} bytes of JSON) with an "
        f"LSTM auto-encoder (window 100, hidden 32); every 10th request holds a NaN and must be answered 422.\n\n"
        + markdown_table(
            ["requests", "seconds", "requests/s", "steps/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"],
            [[result["requests"], result["seconds"], result["requests_per_s"], result["steps_per_s"], lat["p50"],
              lat["p90"], lat["p99"], lat["max"], result["errors"]]],
        )
        + f"\nStatuses: {result['statuses']}; a request without the token got {unauthorized}. "
        f"Server start-up (load the model, bind): {result['startup_s']} s. An *error* is a wrong status, a "
        "transport failure, or scores that differ from the same detector scored in the client's process.\n\n"
        f"Machine: {machine()['cpu_count']} CPUs ({machine()['platform']}), torch {machine()['torch']}, shared "
        "with other work while it ran: the numbers are a floor, not a ceiling.\n"
    )
    json_path, md_path = write_results("serve_load", record, markdown)
    print(markdown)
    print(f"wrote {json_path} and {md_path}")
    if result["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()

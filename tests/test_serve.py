"""The HTTP scoring service (``reconad serve``): good input, auth, size limits and malformed input."""

import json
import os

import numpy as np
import pandas as pd
import pytest
from conftest import require_module

from reconad import SeriesDetector
from reconad.data import make_sine
from reconad.metrics import regions

require_module("fastapi", "serve")
require_module("httpx", "dev")
from fastapi.testclient import TestClient  # noqa: E402

from reconad.serve import create_app  # noqa: E402

FAST = dict(window=20, stride=5, epochs=1, hidden_size=8, batch_size=16, verbose=False, random_state=0)
TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def sine():
    return make_sine(3, "independent")


@pytest.fixture(scope="module")
def model_path(sine, tmp_path_factory):
    path = tmp_path_factory.mktemp("serve") / "sine.reconad"
    SeriesDetector(model="gru", **FAST).fit(sine.train).save(path)
    return path


@pytest.fixture(scope="module")
def two_feature_detector():
    t = np.arange(600)
    frame = pd.DataFrame({"a": np.sin(t / 10), "b": np.cos(t / 7)})
    return SeriesDetector(model="dense", **FAST).fit(frame)


@pytest.fixture()
def client(model_path, monkeypatch):
    monkeypatch.delenv("RECONAD_TOKEN", raising=False)
    return TestClient(create_app(model_path))


@pytest.fixture()
def secured(model_path):
    return TestClient(create_app(model_path, token=TOKEN))


def _expected(model_path, x):
    import reconad

    det = reconad.load(model_path)
    scores = det.anomaly_score(x)
    labels = det.predict(x)
    return scores, labels, [list(r) for r in regions(labels)]


def test_json_one_feature_gives_scores_labels_and_regions(client, model_path, sine):
    x = sine.test[:300]
    response = client.post("/score", json=x.tolist())
    assert response.status_code == 200
    body = response.json()
    scores, labels, spans = _expected(model_path, x)
    np.testing.assert_allclose(body["scores"], scores, rtol=1e-12)
    assert body["labels"] == labels.tolist() and body["regions"] == spans
    assert len(body["scores"]) == 300


def test_explain_names_the_sensor_behind_each_region(two_feature_detector):
    client = TestClient(create_app(two_feature_detector, token=""))
    t = np.arange(300)
    x = np.column_stack([np.sin(t / 10), np.cos(t / 7)])
    x[200:230, 1] += 4.0  # sensor b goes wrong
    plain = client.post("/score", json=x.tolist()).json()
    assert "explanations" not in plain
    body = client.post("/score?explain=true", json=x.tolist()).json()
    assert body["scores"] == plain["scores"] and body["regions"] == plain["regions"]
    expected = two_feature_detector.explain_regions(x, [tuple(r) for r in body["regions"]])
    assert body["explanations"] == expected and len(expected) == len(body["regions"])
    hit = [r for r in body["explanations"] if r["start"] < 230 and r["end"] > 200]
    assert hit and hit[0]["features"][0]["feature"] == "b"
    bad = client.post("/score?explain=maybe", json=x.tolist())
    assert bad.status_code == 422 and "explain='maybe' is not true or false" in bad.json()["error"]


def test_the_answered_threshold_is_the_fitted_one_whatever_the_batch(two_feature_detector):
    """The score never reads the threshold, and the threshold never reads the batch: every request answers the
    label-free level fitted at training, and flags exactly the scores above it."""
    det = two_feature_detector
    client = TestClient(create_app(det, token=""))
    t = np.arange(300)
    calm = np.column_stack([np.sin(t / 10), np.cos(t / 7)])
    faulty = calm.copy()
    faulty[100:160, 0] += 20.0  # a fault far above everything else: a batch-relative level would rise with it
    for x in (calm, faulty):
        body = client.post("/score", json=x.tolist()).json()
        scores = np.asarray(body["scores"])
        assert body["threshold"] == float(det.threshold_) == det.threshold_.value_
        assert body["labels"] == (scores > body["threshold"]).astype(int).tolist() == det.predict(x).tolist()
    assert sum(body["labels"]) > 0  # the fault is flagged against the fixed level


def test_json_rows_and_csv_with_and_without_header(two_feature_detector):
    client = TestClient(create_app(two_feature_detector, token=""))
    x = np.column_stack([np.sin(np.arange(200) / 10), np.cos(np.arange(200) / 7)])
    expected = two_feature_detector.anomaly_score(x)
    rows = client.post("/score", json=x.tolist())
    assert rows.status_code == 200
    np.testing.assert_allclose(rows.json()["scores"], expected, rtol=1e-12)
    plain = "\n".join(f"{float(a)!r},{float(b)!r}" for a, b in x)
    csv = client.post("/score", content=plain, headers={"content-type": "text/csv"})
    assert csv.status_code == 200
    np.testing.assert_allclose(csv.json()["scores"], expected, rtol=1e-12)
    headed = client.post("/score", content="a,b\n" + plain, headers={"content-type": "text/csv; charset=utf-8"})
    assert headed.status_code == 200
    np.testing.assert_allclose(headed.json()["scores"], expected, rtol=1e-12)
    swapped = client.post("/score", content="b,a\n" + plain, headers={"content-type": "text/csv"})
    assert swapped.status_code == 422 and "same order" in swapped.json()["error"]


def test_health_and_model(client, model_path):
    assert client.get("/health").json() == {"status": "ok"}
    info = client.get("/model").json()
    assert info["detector"] == "SeriesDetector" and info["model"] == "gru" and info["window"] == 20
    assert info["n_features"] == 1 and info["feature_names"] is None
    assert info["threshold"]["method"] == "mean_std" and isinstance(info["threshold"]["value"], float)
    assert info["params"]["stride"] == 5 and "reconad_version" in info


def test_token_is_required_when_set(secured, sine):
    x = sine.test[:100].tolist()
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": TOKEN}, {"authorization": "Basic x"}):
        response = secured.post("/score", json=x, headers=headers)
        assert response.status_code == 401, headers
        assert "bearer token" in response.json()["error"]
        assert response.headers["www-authenticate"] == "Bearer"
        assert secured.get("/model", headers=headers).status_code == 401
    good = {"authorization": f"Bearer {TOKEN}"}
    assert secured.post("/score", json=x, headers=good).status_code == 200
    assert secured.get("/model", headers=good).status_code == 200
    assert secured.get("/health").status_code == 200  # open for load balancers


def test_token_from_the_environment(model_path, monkeypatch, sine):
    monkeypatch.setenv("RECONAD_TOKEN", "from-env")
    client = TestClient(create_app(model_path))
    assert client.post("/score", json=sine.test[:100].tolist()).status_code == 401
    ok = client.post("/score", json=sine.test[:100].tolist(), headers={"authorization": "Bearer from-env"})
    assert ok.status_code == 200


def test_bodies_over_the_limit_get_413_by_header_and_by_stream(model_path, monkeypatch):
    monkeypatch.delenv("RECONAD_TOKEN", raising=False)
    client = TestClient(create_app(model_path, max_bytes=1000))
    big = json.dumps([0.5] * 1000)
    response = client.post("/score", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "limit of 1000" in response.json()["error"]

    def chunks():  # no Content-Length: the streamed body itself must be counted
        for _ in range(50):
            yield b"[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],"

    streamed = client.post("/score", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413 and "limit of 1000" in streamed.json()["error"]
    assert client.post("/score", json=[0.5] * 50).status_code == 200  # under the limit: fine


@pytest.mark.parametrize(
    "body, content_type, status, message",
    [
        (b"[1, 2,", "application/json", 400, "not valid JSON"),
        (b"\xff\xfe", "application/json", 400, "not valid JSON"),
        (b'{"data": [1, 2]}', "application/json", 422, "must be a JSON array"),
        (b"[]", "application/json", 422, "empty"),
        (b"", "application/json", 400, "body is empty"),
        (json.dumps([0.1] * 5).encode(), "application/json", 422, "fewer than one window"),
        (json.dumps([[0.1, 0.2]] * 50).encode(), "application/json", 422, "2 features"),
        (b"[" + b", ".join([b"0.1"] * 30 + [b"NaN"] + [b"0.1"] * 30) + b"]", "application/json", 422, "NaN"),
        (b"[" + b", ".join([b"0.1"] * 30 + [b"Infinity"] + [b"0.1"] * 30) + b"]", "application/json", 422, "NaN"),
        (b"[" + b", ".join([b"0.1"] * 30 + [b"1" + b"0" * 400] + [b"0.1"] * 30) + b"]", "application/json", 422,
         "numbers"),
        (json.dumps([0.1] * 30 + ["x"] + [0.1] * 30).encode(), "application/json", 422, "numbers"),
        (json.dumps([1e20] * 50).encode(), "application/json", 422, "overflows"),  # inf scores are not JSON
        (json.dumps(["a"] * 30).encode(), "application/json", 422, "numbers"),
        # numpy would read these as numbers ("2" -> 2.0, true -> 1.0) or NaN, so they are refused where they are
        (json.dumps([0.1] * 30 + ["2"] + [0.1] * 30).encode(), "application/json", 422, 'found "2" at position 30'),
        (json.dumps([0.1] * 30 + [True] + [0.1] * 30).encode(), "application/json", 422, "found true at position 30"),
        (json.dumps([0.1] * 30 + [None] + [0.1] * 30).encode(), "application/json", 422, "found null at position 30"),
        (json.dumps([[0.1]] * 30 + [[False]] + [[0.1]] * 30).encode(), "application/json", 422, "false at row 30"),
        (b"True\n" * 60, "text/csv", 422, "hold True/False"),
        (json.dumps([[0.1], [0.2, 0.3]] * 20).encode(), "application/json", 422, "rows"),
        (json.dumps([[[0.1]]] * 30).encode(), "application/json", 422, "shape"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "not valid JSON"),
        (b"0.1\n0.2\nabc\n" * 20, "text/csv", 422, "numeric"),
        (b"0.1,\n" * 30, "text/csv", 422, "2 columns"),  # a trailing comma is a second (empty) column
        (b"0.1\nnan\n" * 30, "text/csv", 422, "NaN"),
        (b"\x00\x01garbage", "text/csv", 422, ""),
        (json.dumps([0.1] * 50).encode(), "text/plain", 415, "not supported"),
        (json.dumps([0.1] * 50).encode(), "", 415, "not supported"),
        (json.dumps([0.1] * 50).encode(), "application/x-www-form-urlencoded", 415, "not supported"),
    ],
)
def test_malformed_input_gets_a_4xx_with_a_json_error(client, body, content_type, status, message):
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/score", content=body, headers=headers)
    assert 400 <= response.status_code < 500
    assert response.status_code == status, response.json()
    assert message in response.json()["error"]


def test_unknown_routes_and_methods_answer_in_json(client):
    missing = client.get("/nope")
    assert missing.status_code == 404 and "error" in missing.json()
    wrong = client.get("/score")
    assert wrong.status_code == 405 and "error" in wrong.json()
    bad_length = client.post("/score", content=b"[1]", headers={"content-type": "application/json",
                                                                "content-length": "abc"})
    assert 400 <= bad_length.status_code < 500


def test_an_unexpected_error_is_still_a_json_500_without_a_traceback(model_path, monkeypatch):
    monkeypatch.delenv("RECONAD_TOKEN", raising=False)
    monkeypatch.setattr(SeriesDetector, "anomaly_score", lambda self, x: 1 / 0)
    client = TestClient(create_app(model_path), raise_server_exceptions=False)
    response = client.post("/score", json=[0.1] * 50)
    assert response.status_code == 500
    assert response.json() == {"error": "internal error (ZeroDivisionError); see the server log"}
    assert "Traceback" not in response.text


def test_the_model_is_loaded_once_at_start(model_path, monkeypatch, sine):
    import reconad.detectors

    calls = []
    real = reconad.detectors.load
    monkeypatch.setattr(reconad.detectors, "load", lambda path: calls.append(path) or real(path))
    client = TestClient(create_app(model_path, token=""))
    for _ in range(3):
        assert client.post("/score", json=sine.test[:100].tolist()).status_code == 200
    assert len(calls) == 1


def test_bad_settings_and_files_are_refused_at_start(tmp_path):
    from reconad import InputError, ModelFileError

    with pytest.raises(InputError, match="does not exist"):
        create_app(tmp_path / "missing.reconad")
    (tmp_path / "junk.reconad").write_bytes(b"junk")
    with pytest.raises(ModelFileError):
        create_app(tmp_path / "junk.reconad")
    with pytest.raises(InputError, match="max_bytes"):
        create_app(tmp_path / "junk.reconad", max_bytes=0)


def test_reconad_serve_runs_a_real_server_on_localhost(model_path, tmp_path):
    """``reconad serve`` through the CLI: uvicorn on 127.0.0.1, token from the environment, stopped after."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "RECONAD_TOKEN": "t0ken"}
    server = subprocess.Popen([sys.executable, "-m", "reconad", "serve", str(model_path), "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stderr.read().decode()
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start within 120 s"
                time.sleep(0.2)
        assert httpx.post(f"{base}/score", json=[0.1] * 50, timeout=30).status_code == 401
        ok = httpx.post(f"{base}/score", json=[0.1] * 50, headers={"authorization": "Bearer t0ken"}, timeout=30)
        assert ok.status_code == 200 and len(ok.json()["scores"]) == 50
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# ---- a service that degrades gracefully (issue 36) -------------------------------------------------------------------


def test_a_million_columns_or_too_many_rows_are_refused_before_parsing(model_path, monkeypatch):
    import time

    monkeypatch.delenv("RECONAD_TOKEN", raising=False)
    client = TestClient(create_app(model_path, max_rows=100))
    began = time.perf_counter()
    wide = client.post("/score", content=b"0," * 1_000_000 + b"0\n", headers={"content-type": "text/csv"})
    assert wide.status_code == 422 and "1,000,001 columns" in wide.json()["error"]
    row = client.post("/score", content=json.dumps([[0.0] * 1_000_000]), headers={"content-type": "application/json"})
    assert row.status_code == 422 and "1,000,000 features" in row.json()["error"]
    assert time.perf_counter() - began < 10  # was 24 s and 1.9 GB for the CSV alone
    long = client.post("/score", json=[0.1] * 101)
    assert long.status_code == 413 and "101 rows" in long.json()["error"]
    csv = client.post("/score", content=b"0.1\n" * 101, headers={"content-type": "text/csv"})
    assert csv.status_code == 413 and "rows" in csv.json()["error"]
    assert client.post("/score", json=[0.1] * 100).status_code == 200


@pytest.mark.parametrize("value", [1e20, 1e38])
def test_an_overflow_is_a_422_with_the_scorers_message(client, value):
    response = client.post("/score", json=[0.1] * 30 + [value] * 5 + [0.1] * 30)
    assert response.status_code == 422 and "reconstruction error overflows" in response.json()["error"]


def test_bad_pool_settings_are_refused(model_path):
    from reconad import InputError

    for settings in ({"workers": 0}, {"max_rows": -1}, {"upload_timeout": 0}):
        with pytest.raises(InputError):
            create_app(model_path, token="", **settings)


SERVER = """
import logging, sys
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
from reconad.serve import serve
serve(sys.argv[1], port=int(sys.argv[2]), token="", max_bytes=1 << 20, upload_timeout=2, shutdown_timeout=2)
"""


@pytest.fixture(scope="module")
def live(model_path, tmp_path_factory):
    """A real uvicorn server (1 MiB bodies, 2 s uploads, 2 s graceful shutdown); its log is kept in a file."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log_path = tmp_path_factory.mktemp("live") / "server.log"
    with log_path.open("w") as log_file:
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(model_path), str(port)],
                                  stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        assert server.poll() is None, log_path.read_text()
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the server did not start within 120 s"
            time.sleep(0.2)
    yield {"server": server, "port": port, "base": base, "log": log_path}
    if server.poll() is None:
        server.kill()
        server.wait()


def _raw(port: int, head: bytes, body: bytes, wait: float | None = 10.0) -> bytes:
    """Send ``head`` and ``body`` on a plain socket and read the answer (``wait=None``: close at once)."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=wait or 1) as sock:
        sock.sendall(head + body)
        if wait is None:
            return b""
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def test_an_ordinary_client_reads_the_413_of_a_huge_body(live):
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{live['base']}/score", data=b"[" + b"0.5," * (16 << 20) + b"0.5]",
                                     headers={"content-type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:  # a connection reset would be URLError / OSError
        urllib.request.urlopen(request, timeout=60)
    assert caught.value.code == 413 and "over the limit" in json.loads(caught.value.read())["error"]


def test_a_stalled_upload_gets_408_and_health_stays_up(live):
    import threading
    import time

    import httpx

    answers = []
    head = b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    threads = [threading.Thread(target=lambda: answers.append(_raw(live["port"], head, b"[0.1, 0.2"))) for _ in
               range(6)]  # more stalled uploads than the server reads at once
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    assert httpx.get(f"{live['base']}/health", timeout=1).json() == {"status": "ok"}
    for thread in threads:
        thread.join(30)
    assert len(answers) == 6 and all(a.startswith(b"HTTP/1.1 408") for a in answers), answers
    assert b"did not arrive within 2 s" in answers[0]
    assert time.perf_counter() - began < 20  # held for 2 s each (queued ones after their turn), not forever


def test_a_client_that_goes_away_mid_upload_is_one_log_line(live):
    import time

    before = live["log"].read_text()
    head = b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    _raw(live["port"], head, b"[0.1, 0.2, " * 100, wait=None)
    time.sleep(1.5)
    added = live["log"].read_text()[len(before):]
    assert "Traceback" not in added
    assert len([line for line in added.splitlines() if line.strip()]) == 1 and "went away" in added, added


def test_a_port_in_use_is_exit_code_2_with_one_line(live, model_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "reconad", "serve", str(model_path), "--port", str(live["port"])],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "cannot listen on 127.0.0.1" in done.stderr and "Traceback" not in done.stderr


def test_sigterm_stops_the_server_within_its_shutdown_timeout(live):
    import time

    server = live["server"]
    began = time.perf_counter()
    server.terminate()
    server.wait(timeout=30)
    assert time.perf_counter() - began < 15 and server.returncode in (0, -15)

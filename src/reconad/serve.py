"""``reconad serve``: a trained series detector behind HTTP (FastAPI + uvicorn, extra ``[serve]``).

Endpoints:

- ``POST /score``: a JSON array body (``[x0, x1, ...]`` for one feature, ``[[a, b], [a, b], ...]`` for rows of
  features) or ``text/csv`` (rows of numbers, optionally under a header row) → ``{"scores": [...],
  "labels": [...], "regions": [[start, end], ...], "threshold": t}`` (regions are half-open; ``t`` is the level
  this batch was flagged at); ``POST /score?explain=true`` adds ``"explanations"``, the features that drove each
  region (``SeriesDetector.explain_regions``);
- ``GET /model``: the detector's settings, threshold, feature names and the reconad version;
- ``GET /health``: ``{"status": "ok"}`` (open without a token, for load balancers).

Safe by default: binds 127.0.0.1; with a token (``--token`` or ``RECONAD_TOKEN``) every request but
``/health`` needs ``Authorization: Bearer <token>`` (compared in constant time, 401 otherwise); bodies over
``max_bytes`` get 413 (by Content-Length *and* while streaming, so a chunked upload cannot slip past), after
reading and discarding a bounded amount of the body so that an ordinary client can read the answer; a body that
does not arrive within ``upload_timeout`` seconds gets 408; more than ``max_rows`` rows get 413 and rows wider
than the model's features 422, both checked before the numbers are converted; other bad input gets a 4xx with
``{"error": "..."}`` and never a 500; anything unexpected is still a JSON error. The model is loaded once, at
start. Parsing, scoring and encoding the answer run in a small pool of worker threads (scoring one request at a
time under a lock), and at most ``2 * workers`` requests are read at once, so the event loop keeps answering
``/health`` and memory stays bounded however many large requests arrive. A client that goes away mid-upload is
one log line. ``serve`` binds the port itself, so a port in use is an :class:`InputError` (exit code 2), and it
stops within ``shutdown_timeout`` seconds of SIGTERM.
"""

import asyncio
import hmac
import io
import itertools
import json
import logging
import os
import queue
import socket
import threading

import numpy as np

from reconad.errors import InputError, NotFittedError
from reconad.validation import boolean_hint, non_numeric

log = logging.getLogger("reconad.serve")

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_ROWS = 1_000_000
DEFAULT_WORKERS = 2
UPLOAD_TIMEOUT = 60.0  # seconds for a whole request body to arrive
SHUTDOWN_TIMEOUT = 10  # seconds running requests get after SIGTERM
DRAIN_BYTES = 64 * 1024 * 1024  # an oversize body is read and dropped up to this much (or DRAIN_SECONDS) ...
DRAIN_SECONDS = 10.0  # ... before the 413, so that a client still sending can read it (nginx's lingering close)
TOKEN_ENV = "RECONAD_TOKEN"
_INSTALL = "install the extra: pip install 'reconad[serve]'"
_PASSED_ON = frozenset({int, float, list})  # JSON values numpy may read: numbers, and lists (its shape errors)


class _Problem(Exception):
    """An answer with a status code and a JSON ``{"error": message}`` body."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


def _flag(value: str, name: str) -> bool:
    """A true/false query parameter, or a 422 naming the values it takes."""
    text = value.strip().lower()
    if text not in ("true", "false", "1", "0"):
        raise _Problem(422, f"{name}={value!r} is not true or false; send ?{name}=true or leave it out")
    return text in ("true", "1")


def _load_detector(model):
    from reconad.detectors import SeriesDetector, load

    det = model if isinstance(model, SeriesDetector) else load(model)
    if not isinstance(det, SeriesDetector):
        raise InputError(f"reconad serve scores series; {model} holds a {type(det).__name__}")
    if not det.__sklearn_is_fitted__():
        raise NotFittedError("reconad serve needs a fitted detector; call fit(X) first or pass a saved model file")
    return det


def _check_positive(name: str, value, kinds=(int,)) -> None:
    if not isinstance(value, kinds) or isinstance(value, bool) or value <= 0:
        raise InputError(f"{name} must be a number > 0, got {value!r}")


class _Pool:
    """A fixed number of daemon worker threads: work off the event loop, and a shutdown that never waits for them.

    (``concurrent.futures`` threads are joined at exit, so a long request would hold a stopping server open.)
    """

    def __init__(self, workers: int):
        self.workers, self.queue, self.threads = workers, queue.SimpleQueue(), []
        self.started = threading.Lock()

    async def run(self, fn, *args):
        with self.started:
            while len(self.threads) < self.workers:
                thread = threading.Thread(target=self._work, name=f"reconad-serve-{len(self.threads)}", daemon=True)
                thread.start()
                self.threads.append(thread)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.queue.put((loop, future, fn, args))
        return await future

    def _work(self) -> None:
        while True:
            loop, future, fn, args = self.queue.get()
            if future.cancelled():  # the client went away while the request waited
                continue
            try:
                outcome, value = True, fn(*args)
            except BaseException as exc:  # handed to the request's task, which answers or logs it
                outcome, value = False, exc
            try:
                loop.call_soon_threadsafe(_settle, future, outcome, value)
            except RuntimeError:  # the event loop has closed: the server is stopping
                return


def _settle(future: asyncio.Future, outcome: bool, value) -> None:
    if future.done():
        return
    if outcome:
        future.set_result(value)
    else:
        future.set_exception(value)


def _too_many_rows(count: int, max_rows: int) -> _Problem:
    return _Problem(413, f"the body has {count:,} rows, over the limit of {max_rows:,} per request; send the series "
                         "in parts")


def _parse_json(body: bytes, n_features: int, max_rows: int) -> np.ndarray:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise _Problem(400, f"the body is not valid JSON ({exc}); send a JSON array of numbers") from exc
    if not isinstance(value, list):
        raise _Problem(422, "the body must be a JSON array: [x0, x1, ...] for one feature or [[...], [...]] for rows")
    if len(value) > max_rows:
        raise _too_many_rows(len(value), max_rows)
    rows = bool(value) and all(type(v) is list for v in value)
    if rows and (widest := max(map(len, value))) > n_features:  # before numpy builds a huge array
        raise _Problem(422, f"rows have {widest:,} features but the detector was fitted on {n_features}; send one "
                            "value per feature in each row")
    items = itertools.chain.from_iterable(value) if rows else value
    if not set(map(type, items)) <= _PASSED_ON:  # json also gives bool, str, None and dict, which numpy would cast
        where, bad = next((f"row {i}" if rows else f"position {i}", v) for i, row in enumerate(value)
                          for v in (row if rows else [row]) if type(v) not in _PASSED_ON)
        raise _Problem(422, f"the JSON array must hold numbers (or rows of numbers); found {json.dumps(bad)} at "
                            f"{where}")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:  # ragged rows, strings, numbers beyond float64
        raise _Problem(422, f"the JSON array must be numbers or rows of equally many numbers ({exc})") from exc


def _parse_csv(body: bytes, n_features: int, max_rows: int):
    import pandas as pd

    first = body[: body.find(b"\n")] if b"\n" in body else body
    if (columns := first.count(b",") + 1) > n_features:  # counted before pandas reads a million columns
        raise _Problem(422, f"the CSV has {columns:,} columns but the model takes {n_features} feature(s); send "
                            "one column per feature (a header row is optional)")
    if (lines := len(body.strip().splitlines())) > max_rows + 1:  # + a header row
        raise _too_many_rows(lines, max_rows)
    try:
        frame = pd.read_csv(io.BytesIO(body), header=None, skipinitialspace=True)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:  # EmptyDataError is a ValueError
        raise _Problem(400, f"the body is not readable CSV ({exc}); send rows of comma-separated numbers") from exc
    first = pd.to_numeric(frame.iloc[0], errors="coerce")
    if first.isna().all() and len(frame) > 1:  # a header row: the feature names, checked against the model's
        return pd.read_csv(io.BytesIO(body), skipinitialspace=True)
    bad = non_numeric(frame)
    if bad:
        raise _Problem(422, f"the CSV has non-numeric columns {bad} (counted from 0){boolean_hint(frame)}; "
                            "send rows of numbers, with or without a header row")
    return frame.to_numpy()  # no header: columns by position


def create_app(model, token: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES, *,
               max_rows: int = DEFAULT_MAX_ROWS, workers: int = DEFAULT_WORKERS,
               upload_timeout: float = UPLOAD_TIMEOUT):
    """The FastAPI app serving ``model`` (a fitted SeriesDetector or the path of a saved one).

    ``token=None`` takes the token from the environment variable ``RECONAD_TOKEN`` (no auth when unset or
    empty); ``max_bytes`` limits the request body and ``max_rows`` its rows; ``workers`` threads parse, score and
    encode (at most ``2 * workers`` requests are read at once); a body must arrive within ``upload_timeout`` s.
    """
    try:
        from fastapi import FastAPI, Request
        from fastapi.responses import JSONResponse, Response
        from starlette.exceptions import HTTPException
        from starlette.requests import ClientDisconnect
    except ImportError as exc:
        raise InputError(f"reconad serve needs fastapi and uvicorn ({exc.name} is missing); {_INSTALL}") from exc
    from reconad import __version__
    from reconad.metrics import regions

    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 1:
        raise InputError(f"max_bytes must be a whole number of bytes >= 1, got {max_bytes!r}")
    _check_positive("max_rows", max_rows)
    _check_positive("workers", workers)
    _check_positive("upload_timeout", upload_timeout, (int, float))
    if token is None:
        token = os.environ.get(TOKEN_ENV) or None
    expected = token.encode() if token else None
    det = _load_detector(model)  # once, at start
    lock, pool, admitted = threading.Lock(), _Pool(workers), asyncio.Semaphore(2 * workers)
    threshold = det.threshold_.to_dict()
    info = {
        "detector": type(det).__name__,
        "reconad_version": __version__,
        "model": det.model,
        "params": det.params_document(),
        "window": det.window_,
        "n_features": det.n_features_in_,
        "feature_names": det.feature_names_in_,
        "threshold": {"method": threshold["name"], "params": threshold["params"], "value": threshold["value"],
                      "source": det.threshold_source_},
        "max_bytes": max_bytes,
        "max_rows": max_rows,
    }

    app = FastAPI(title="reconad", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(_Problem)
    async def _problem(request, exc: _Problem):
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(HTTPException)
    async def _http(request, exc: HTTPException):  # 404, 405, ... as JSON too
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request, exc: Exception):  # a bug, not the client's input: still a JSON answer
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": f"internal error ({type(exc).__name__}); see the server log"}, status_code=500)

    def authorize(request: Request) -> None:
        if expected is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            raise _Problem(401, "missing or wrong bearer token; send 'Authorization: Bearer <token>'",
                           {"WWW-Authenticate": "Bearer"})

    async def drain(stream, message: str) -> _Problem:
        """Read and drop what the client still sends (bounded), so that it reads the 413 instead of a reset."""
        dropped = 0
        try:
            async with asyncio.timeout(DRAIN_SECONDS):
                async for chunk in stream:
                    dropped += len(chunk)
                    if dropped > DRAIN_BYTES:
                        break
        except (TimeoutError, ClientDisconnect):
            pass
        return _Problem(413, message, {"Connection": "close"})

    async def read_body(request: Request) -> bytes:
        length = request.headers.get("content-length")
        stream = request.stream()
        if length is not None:
            if not length.strip().isdigit():
                raise _Problem(400, f"Content-Length {length!r} is not a number of bytes")
            if int(length) > max_bytes:
                raise await drain(stream, f"the body has {int(length)} bytes, over the limit of {max_bytes}; "
                                          "send the series in parts")
        chunks, size = [], 0
        try:
            async with asyncio.timeout(upload_timeout):
                async for chunk in stream:  # counted as it arrives: chunked uploads are limited too
                    size += len(chunk)
                    if size > max_bytes:
                        break
                    chunks.append(chunk)
        except TimeoutError:
            raise _Problem(408, f"the body did not arrive within {upload_timeout:g} s ({size:,} bytes came); send "
                                "it at once, or in smaller parts", {"Connection": "close"}) from None
        if size > max_bytes:
            raise await drain(stream, f"the body is over the limit of {max_bytes} bytes; send the series in parts")
        return b"".join(chunks)

    def answer(kind: str, body: bytes, explain: bool) -> bytes:
        """Parse, score and encode one request (in a worker thread: none of it blocks the event loop)."""
        if kind == "application/json":
            data = _parse_json(body, det.n_features_in_, max_rows)
        else:
            data = _parse_csv(body, det.n_features_in_, max_rows)
            if len(data) > max_rows:  # the line count allowed one for a header row
                raise _too_many_rows(len(data), max_rows)
        with lock:  # one scoring pass at a time: torch already uses every core for one
            scores = det.anomaly_score(data)  # refuses input whose error overflows (SeriesScorer.check_errors)
        labels = det.threshold_.predict(scores)
        spans = regions(labels)
        result = {"scores": scores.tolist(), "labels": labels.tolist(), "regions": [list(r) for r in spans],
                  "threshold": float(det.threshold_)}
        if explain:
            with lock:
                result["explanations"] = det.explain_regions(data, spans)
        return json.dumps(result, allow_nan=False).encode()

    @app.get("/health")
    async def health() -> dict:  # on the event loop itself: never queued behind scoring
        return {"status": "ok"}

    @app.get("/model")
    def model_info(request: Request) -> dict:
        authorize(request)
        return info

    @app.post("/score")
    async def score_endpoint(request: Request):
        authorize(request)  # before reading anything
        explain = _flag(request.query_params.get("explain", "false"), "explain")
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in ("application/json", "text/csv"):
            raise _Problem(415, f"content type {kind or '(none)'!r} is not supported; send application/json "
                                "(a JSON array) or text/csv")
        async with admitted:  # bodies wait in the socket, not in memory, while the pool is busy
            try:
                body = await read_body(request)
            except ClientDisconnect:
                client = request.client.host if request.client else "a client"
                log.warning("%s went away while sending a /score request; nothing was scored", client)
                return Response(status_code=400)
            if not body.strip():
                raise _Problem(400, "the body is empty; send the series to score")
            try:
                content = await pool.run(answer, kind, body, explain)
            except InputError as exc:
                raise _Problem(422, str(exc)) from exc
        return Response(content, media_type="application/json")

    return app


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, or an InputError naming why not (a port in use, an unknown host)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise InputError(f"cannot serve on {host}: {exc.strerror}; pass --host with an address of this machine") \
            from exc
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror}; stop what uses it or pass another "
                         "--port") from exc
    sock.set_inheritable(True)
    return sock


def serve(model, host: str = "127.0.0.1", port: int = 8000, token: str | None = None,
          max_bytes: int = DEFAULT_MAX_BYTES, log_level: str = "info", *, max_rows: int = DEFAULT_MAX_ROWS,
          workers: int = DEFAULT_WORKERS, upload_timeout: float = UPLOAD_TIMEOUT,
          shutdown_timeout: int = SHUTDOWN_TIMEOUT) -> None:
    """Load ``model`` once and serve it with uvicorn until interrupted (SIGINT / SIGTERM).

    Start-up failures are :class:`InputError` (exit code 2 from ``reconad serve``): a bad model file, a port in
    use, an unknown host. On SIGTERM running requests get ``shutdown_timeout`` seconds, then the server stops.
    """
    try:
        import uvicorn
    except ImportError as exc:
        raise InputError(f"reconad serve needs uvicorn; {_INSTALL}") from exc
    app = create_app(model, token=token, max_bytes=max_bytes, max_rows=max_rows, workers=workers,
                     upload_timeout=upload_timeout)
    if host not in ("127.0.0.1", "localhost", "::1") and not (token or os.environ.get(TOKEN_ENV)):
        log.warning("serving on %s without a token: anyone who can reach it can use it; pass --token", host)
    sock = _listen(host, port)
    config = uvicorn.Config(app, log_level=log_level, access_log=False, timeout_keep_alive=5,
                            timeout_graceful_shutdown=shutdown_timeout)
    with sock:
        uvicorn.Server(config).run(sockets=[sock])

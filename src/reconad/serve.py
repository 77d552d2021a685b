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
``max_bytes`` get 413 (by Content-Length *and* while streaming, so a chunked upload cannot slip past); bad input
gets a 4xx with ``{"error": "..."}`` and never a 500; anything unexpected is still a JSON error. The model is
loaded once, at start; scoring runs in a worker thread under a lock, so the event loop keeps answering.
"""

import hmac
import io
import itertools
import json
import logging
import os
import threading

import numpy as np

from reconad.errors import InputError, NotFittedError
from reconad.validation import boolean_hint, non_numeric

log = logging.getLogger("reconad.serve")

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
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


def _parse_json(body: bytes) -> np.ndarray:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise _Problem(400, f"the body is not valid JSON ({exc}); send a JSON array of numbers") from exc
    if not isinstance(value, list):
        raise _Problem(422, "the body must be a JSON array: [x0, x1, ...] for one feature or [[...], [...]] for rows")
    rows = bool(value) and all(type(v) is list for v in value)
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


def _parse_csv(body: bytes):
    import pandas as pd

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


def create_app(model, token: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES):
    """The FastAPI app serving ``model`` (a fitted SeriesDetector or the path of a saved one).

    ``token=None`` takes the token from the environment variable ``RECONAD_TOKEN`` (no auth when unset or
    empty); ``max_bytes`` limits the request body.
    """
    try:
        from fastapi import FastAPI, Request
        from fastapi.concurrency import run_in_threadpool
        from fastapi.responses import JSONResponse
        from starlette.exceptions import HTTPException
    except ImportError as exc:
        raise InputError(f"reconad serve needs fastapi and uvicorn ({exc.name} is missing); {_INSTALL}") from exc
    from reconad import __version__
    from reconad.metrics import regions

    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 1:
        raise InputError(f"max_bytes must be a whole number of bytes >= 1, got {max_bytes!r}")
    if token is None:
        token = os.environ.get(TOKEN_ENV) or None
    expected = token.encode() if token else None
    det = _load_detector(model)  # once, at start
    lock = threading.Lock()
    threshold = det.threshold_.to_dict()
    params = det.params_document()
    info = {
        "detector": type(det).__name__,
        "reconad_version": __version__,
        "model": det.model,
        "params": params,
        "window": det.window_,
        "n_features": det.n_features_in_,
        "feature_names": det.feature_names_in_,
        "threshold": {"method": threshold["name"], "params": threshold["params"], "value": threshold["value"],
                      "source": det.threshold_source_},
        "max_bytes": max_bytes,
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

    async def read_body(request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                raise _Problem(400, f"Content-Length {length!r} is not a number of bytes")
            if int(length) > max_bytes:
                raise _Problem(413, f"the body has {int(length)} bytes, over the limit of {max_bytes}; "
                                    "send the series in parts")
        chunks, size = [], 0
        async for chunk in request.stream():  # counted as it arrives: chunked uploads are limited too
            size += len(chunk)
            if size > max_bytes:
                raise _Problem(413, f"the body is over the limit of {max_bytes} bytes; send the series in parts")
            chunks.append(chunk)
        return b"".join(chunks)

    def score(kind: str, body: bytes, explain: bool) -> dict:
        data = _parse_json(body) if kind == "application/json" else _parse_csv(body)  # off the event loop too
        with lock:  # one scoring pass at a time: torch already uses every core for one
            scores = det.anomaly_score(data)
        if not np.isfinite(scores).all():  # float32 overflow: JSON has no inf, and a NaN would read as normal
            raise InputError(
                "the values are so far from the training data that their reconstruction error overflows "
                f"(largest |value| {float(np.abs(np.asarray(data, dtype=np.float64)).max()):.3g}); check the units"
            )
        labels = det.threshold_.predict(scores)
        spans = regions(labels)
        answer = {
            "scores": scores.tolist(),
            "labels": labels.tolist(),
            "regions": [list(r) for r in spans],
            "threshold": float(det.threshold_),
        }
        if explain:
            with lock:
                answer["explanations"] = det.explain_regions(data, spans)
        return answer

    @app.get("/health")
    def health() -> dict:
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
        body = await read_body(request)
        if not body.strip():
            raise _Problem(400, "the body is empty; send the series to score")
        try:
            return JSONResponse(await run_in_threadpool(score, kind, body, explain))
        except InputError as exc:
            raise _Problem(422, str(exc)) from exc

    return app


def serve(model, host: str = "127.0.0.1", port: int = 8000, token: str | None = None,
          max_bytes: int = DEFAULT_MAX_BYTES, log_level: str = "info") -> None:
    """Load ``model`` once and serve it with uvicorn until interrupted."""
    try:
        import uvicorn
    except ImportError as exc:
        raise InputError(f"reconad serve needs uvicorn; {_INSTALL}") from exc
    app = create_app(model, token=token, max_bytes=max_bytes)
    if host not in ("127.0.0.1", "localhost", "::1") and not (token or os.environ.get(TOKEN_ENV)):
        log.warning("serving on %s without a token: anyone who can reach it can use it; pass --token", host)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)

"""``reconad serve MODEL``: the HTTP scoring service of :mod:`reconad.serve` (extra ``[serve]``)."""

from __future__ import annotations

import argparse

from reconad.errors import InputError

EXIT_OK = 0


def run(args: argparse.Namespace) -> int:
    """The ``serve`` handler: check the port, then load the model once and serve until interrupted."""
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be in 0..65535, got {args.port}")
    from reconad.serve import serve

    serve(args.model, host=args.host, port=args.port, token=args.token, max_bytes=args.max_bytes,
          max_rows=args.max_rows, workers=args.workers, upload_timeout=args.upload_timeout)
    return EXIT_OK

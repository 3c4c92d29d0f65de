"""One log line per request on stderr: method, path, status, milliseconds, load id.

Format: `request method=POST path=/api/v1/tables/jobs/upload status=201 ms=41.7 load_id=12`,
so `grep 'status=5'` or `grep load_id=12` finds what you look for. Gunicorn's access log
stays off so nothing is logged twice.
"""

from __future__ import annotations

import logging
import sys
import time

from flask import Flask, g, request

log = logging.getLogger("hrapi.request")


def configure_logging() -> None:
    """Log hrapi's records to stderr once, whatever server runs the app."""
    root = logging.getLogger("hrapi")
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False


def init_app(app: Flask) -> None:
    @app.before_request
    def start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response):
        started = g.get("request_started")
        ms = (time.perf_counter() - started) * 1000 if started else 0.0
        load_ids = g.get("load_ids")
        suffix = f" load_id={','.join(map(str, load_ids))}" if load_ids else ""
        log.info(
            "request method=%s path=%s status=%s ms=%.1f%s",
            escaped(request.method),
            escaped(request.path),
            response.status_code,
            ms,
            suffix,
        )
        return response


def escaped(text: str) -> str:
    """Text as one log line can hold it: control characters (a line break in a URL, say)
    written as escapes, so that no value can forge a line of its own."""
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text


def note_load_id(load_id: int) -> None:
    """Remember a load this request made, for its log line."""
    g.setdefault("load_ids", []).append(load_id)

"""Request bodies are read as sent: one with a Content-Encoding (gzip, say) is a 415.

Without this, a gzipped CSV would be read as CSV text and every row rejected as bytes not
valid in its encoding, where the client only needs to send the file as it is.
"""

from __future__ import annotations

from flask import Flask, request
from flask_smorest import abort


def init_app(app: Flask) -> None:
    @app.before_request
    def refuse_encoded_bodies():
        encoding = request.headers.get("Content-Encoding", "").strip().lower()
        if encoding not in ("", "identity") and request.method in ("POST", "PUT", "PATCH"):
            abort(415, message=f"Bodies are read as sent: Content-Encoding {encoding[:40]!r} "
                  "is not supported; send the body without it.")  # fmt: skip

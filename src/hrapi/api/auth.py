"""The API key: with HRAPI_API_KEY set, every /api/v1 call and /metrics need `Authorization:
Bearer <key>`.

`/health`, `/docs` and `/openapi.json` stay open. Keys are compared in constant time. With no
key set the API is open, and gunicorn's start-up says so in the log.
"""

from __future__ import annotations

import hmac
import logging

from flask import Flask, request
from flask_smorest import abort

log = logging.getLogger(__name__)

PROTECTED_PREFIX = "/api/v1"
PROTECTED = (PROTECTED_PREFIX, "/metrics")
SECURITY_SCHEME = {"type": "http", "scheme": "bearer", "description": "HRAPI_API_KEY"}


def warn_if_open(api_key: str | None) -> None:
    """Where the API is served (gunicorn's start-up): say so when it is open to anyone."""
    if not api_key:
        log.warning("HRAPI_API_KEY is not set: the API is open to anyone who can reach it")


def init_app(app: Flask, api, api_key: str | None) -> None:
    if not api_key:
        return
    api.spec.components.security_scheme("bearerAuth", SECURITY_SCHEME)
    api.spec.options["security"] = [{"bearerAuth": []}]
    for path, operations in api.spec._paths.items():  # every protected operation says 401
        if path.startswith(PROTECTED):
            for method, operation in operations.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue  # parameters of the path, not an operation
                operation.setdefault("responses", {})["401"] = {
                    "description": "Without the API key (Authorization: Bearer <key>)"}  # fmt: skip
    expected = api_key.encode()

    @app.before_request
    def require_api_key():
        if not request.path.startswith(PROTECTED):
            return None
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
            abort(
                401,
                message="Send the API key as 'Authorization: Bearer <key>'.",
                headers={"WWW-Authenticate": 'Bearer realm="hrapi"'},
            )
        return None

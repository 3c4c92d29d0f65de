"""Error answers in flask-smorest's JSON shape, for every error the app can meet.

`{"code": 503, "status": "Service Unavailable", "message": "...", "errors": {...}}`.
flask-smorest's own handler answers HTTP errors (404, 405, 413, 415, 422); this module adds a
database that cannot be reached and a table a load holds for longer than a request waits
(503), and, as a last resort, a bug (500, logged).
"""

from __future__ import annotations

import errno
import http
import logging

from flask import Flask, current_app, jsonify
from werkzeug.exceptions import HTTPException

from hrapi.db import DatabaseUnavailable, TableBusy

log = logging.getLogger(__name__)
NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # a full disk, a quota, a size limit


class WorkerTimeout(Exception):
    """The request outlived gunicorn's worker timeout (raised by gunicorn_conf.worker_abort in
    the request's own frame): answered 503, and a load under way is marked failed with it."""

    def __init__(self, seconds: int):
        super().__init__(f"worker timeout after {seconds} s (GUNICORN_TIMEOUT)")


def error_body(code: int, message: str, errors: dict | None = None) -> dict:
    body = {"code": code, "status": http.HTTPStatus(code).phrase, "message": message}
    if errors:
        body["errors"] = errors
    return body


def replace_body(response, body: dict) -> None:
    """Give an answer made elsewhere a new JSON body, written by the app's JSON provider as
    jsonify writes every other answer."""
    response.set_data(current_app.json.response(body).get_data())


def error_response(code: int, message: str, errors: dict | None = None):
    response = jsonify(error_body(code, message, errors))
    response.status_code = code
    return response


def _message_of(exc: HTTPException, body: dict) -> str:
    whole = [message for fields in body.get("errors", {}).values() if isinstance(fields, dict)
             for message in fields.get("_schema", ())]  # fmt: skip
    if whole and body.get("code") == 422:  # the body as a whole is not of its shape
        return str(whole[0])
    if body.get("errors") and body.get("code") in (400, 422):
        where = "; ".join(_problems(body["errors"]))
        if body["code"] == 400:
            return f"The request body cannot be read: {where}."
        return f"The request has invalid or unknown parameters: {where}."
    return exc.description or http.HTTPStatus(exc.code or 500).phrase


def _problems(errors: dict) -> list[str]:
    """Each field's first problem, where it is a sentence: `query year: Must be ...`."""
    found = []
    for location, fields in errors.items():
        named = fields if isinstance(fields, dict) else {"": fields}  # or the location's own
        for name, messages in named.items():
            first = messages[0] if isinstance(messages, list) and messages else None
            said = f": {first.rstrip('.')}" if isinstance(first, str) else ""
            found.append(f"{location} {name}".strip() + said)
    return found


def init_app(app: Flask, api) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        """flask-smorest's JSON body, with a message always (werkzeug's own words for its
        errors: unknown route, method, body too large), keeping werkzeug's headers (e.g. Allow
        on 405)."""
        response = app.make_response(api.handle_http_exception(exc))
        body = response.get_json(silent=True)
        if isinstance(body, dict) and "message" not in body:
            body["message"] = _message_of(exc, body)
            replace_body(response, body)
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers.setdefault(name, value)
        return response

    @app.errorhandler(DatabaseUnavailable)
    def database_unavailable(exc: DatabaseUnavailable):
        return _try_again_shortly(f"The database is unavailable: {exc}. Try again shortly.")

    @app.errorhandler(TableBusy)
    def table_busy(exc: TableBusy):
        return _try_again_shortly(f"{exc.table} is held by a load until it ends; try again "
                                  "shortly.")  # fmt: skip

    @app.errorhandler(WorkerTimeout)
    def worker_timeout(exc: WorkerTimeout):
        response = error_response(503, f"The request took too long: {exc}. Send large files "
                                       "faster, or raise GUNICORN_TIMEOUT.")  # fmt: skip
        response.headers["Connection"] = "close"
        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "Internal error; it has been logged.")

    @app.errorhandler(OSError)
    def no_space_left(exc: OSError):
        """The server's temporary space (a request body's copy, a load's rejects) is full."""
        if exc.errno not in NO_SPACE:
            return unexpected_error(exc)
        log.error("no space left for a request's data: %s", exc)
        response = error_response(507, f"The server has no room left for this request's data "
                                       f"({exc.strerror or exc}): nothing of it was kept; try "
                                       "again later.")  # fmt: skip
        response.headers["Retry-After"] = "60"
        return response


def _try_again_shortly(message: str):
    """A 503 whose Retry-After says when to try again."""
    response = error_response(503, message)
    response.headers["Retry-After"] = "5"
    return response

"""JSON or CSV answers: content negotiation and spreadsheet-safe CSV.

A client gets CSV with `Accept: text/csv` or `?format=csv`, JSON otherwise. CSV cells that a
spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return) are
prefixed with a single quote; numbers are written as they are; instants in UTC with Z.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence

from flask import Response, request

from hrapi.ingest.row_schemas import iso_utc

CSV_MIMETYPE = "text/csv"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def wants_csv() -> bool:
    """`?format=csv`, or an Accept header preferring text/csv (`?format=json` wins over it)."""
    chosen = request.args.get("format")
    if chosen in ("csv", "json"):
        return chosen == "csv"
    accept = request.accept_mimetypes
    return accept[CSV_MIMETYPE] > accept["application/json"]


def safe_cell(value) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    return value


def csv_response(header: Sequence[str], rows: Iterable[Sequence], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    response = Response(buffer.getvalue(), mimetype=CSV_MIMETYPE)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def csv_also(component: str) -> dict:
    """For @blp.doc(**csv_also("X")): the 200 answer is JSON (schema X) or CSV."""
    return {
        "responses": {
            "200": {
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}},
                    CSV_MIMETYPE: {"schema": {"type": "string", "format": "csv"}},
                }
            }
        }
    }

"""Endpoints over the ingestion history: the loads and every row each one rejected."""

from __future__ import annotations

import csv
import json

from flask import Response, current_app, stream_with_context
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from hrapi.api.formats import csv_also, csv_response, wants_csv
from hrapi.api.json_body import Blueprint
from hrapi.api.schemas import MAX_PAGE, RejectSchema, document_errors
from hrapi.ingest.rejects import reason, reasons_of
from hrapi.ingest.sources import DELIMITERS

blp = Blueprint("loads", __name__, url_prefix="/api/v1", description="Load history and rejects")

LOAD_FIELDS = (
    "id", "table_name", "source", "filename", "on_conflict", "status", "received", "inserted",
    "updated", "unchanged", "rejected", "error", "started_at", "finished_at", "duration_ms",
    "options", "request_id",
)  # fmt: skip


class LoadSchema(Schema):
    id = fields.Integer()
    table = fields.String(attribute="table_name")
    source = fields.String()
    filename = fields.String(allow_none=True)
    on_conflict = fields.String()
    status = fields.String(
        metadata={"description": "running, completed, failed, dry_run or aborted"}
    )
    received = fields.Integer()
    inserted = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    rejected = fields.Integer()
    error = fields.String(allow_none=True)
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    duration_ms = fields.Integer(allow_none=True)
    options = fields.Dict(
        metadata={"description": "what it ran with: CSV dialect, dry_run, reject limits"}
    )
    request_id = fields.String(
        allow_none=True, metadata={"description": "the X-Request-ID of the request that made it"}
    )


class LoadsPageSchema(Schema):
    loads = fields.List(fields.Nested(LoadSchema))
    next_before = fields.Integer(allow_none=True)


class LoadsPageArgs(Schema):
    before = fields.Integer(
        load_default=2**62,
        validate=validate.Range(min=1),
        metadata={"description": "loads with a smaller id (newest first)"},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))


class RejectsPageArgs(Schema):
    after = fields.Integer(
        load_default=-1,
        validate=validate.Range(min=-1),
        metadata={"description": "rejects after this line (CSV) or index (JSON)"},
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_PAGE))
    format = fields.String(validate=validate.OneOf(["json", "csv"]))


class ReportErrorSchema(Schema):
    type = fields.String(metadata={"example": "missing-cell"})
    rowNumber = fields.Integer()
    fieldName = fields.String(allow_none=True)
    message = fields.String()
    cells = fields.List(fields.Raw(), allow_none=True)


class ReportStatsSchema(Schema):
    errors = fields.Integer()
    rows = fields.Integer()


class ReportTaskSchema(Schema):
    name = fields.String()
    valid = fields.Boolean()
    stats = fields.Nested(ReportStatsSchema)
    errors = fields.List(fields.Nested(ReportErrorSchema))


class ValidationReportSchema(Schema):
    valid = fields.Boolean()
    stats = fields.Nested(ReportStatsSchema)
    tasks = fields.List(fields.Nested(ReportTaskSchema))


class RejectsPageSchema(Schema):
    load_id = fields.Integer()
    rejects = fields.List(fields.Nested(RejectSchema))
    next_after = fields.Integer(allow_none=True)


def _queries() -> dict[str, str]:
    return current_app.extensions["hrapi.ingestor"].loads_sql


def _database():
    return current_app.extensions["hrapi.db"]


def _load_or_404(conn, load_id: int) -> dict:
    record = conn.execute(_queries()["get_load"], {"load_id": load_id}).fetchone()
    if record is None:
        abort(404, message=f"No load with id {load_id}.")
    return dict(zip(LOAD_FIELDS, record, strict=True))


@blp.route("/loads")
class Loads(MethodView):
    @blp.arguments(LoadsPageArgs, location="query")
    @blp.response(200, LoadsPageSchema)
    @document_errors(blp, 422, 503, e422="Bad query parameters")
    def get(self, args):
        """The loads, newest first (keyset pagination with `before`)."""
        with _database().connection() as conn:
            conn.execute(_queries()["fail_orphaned_loads"])
            records = conn.execute(_queries()["list_loads"], args).fetchall()
        loads = [dict(zip(LOAD_FIELDS, r, strict=True)) for r in records]
        next_before = loads[-1]["id"] if len(loads) == args["limit"] else None
        return {"loads": loads, "next_before": next_before}


@blp.route("/loads/<int:load_id>")
class Load(MethodView):
    @blp.response(200, LoadSchema)
    @document_errors(blp, 404, 503, e404="No such load")
    def get(self, load_id):
        """One load: its table, status and counts."""
        with _database().connection() as conn:
            conn.execute(_queries()["fail_orphaned_loads"])
            return _load_or_404(conn, load_id)


@blp.route("/loads/<int:load_id>/rejects")
class LoadRejects(MethodView):
    @blp.arguments(RejectsPageArgs, location="query")
    @blp.response(200, RejectsPageSchema)
    @blp.doc(**csv_also("RejectsPage"))
    @document_errors(blp, 404, 422, 503, e404="No such load", e422="Bad query parameters")
    def get(self, args, load_id):
        """Every row a load rejected, in input order, with its raw text and reasons.

        JSON by default; CSV (`line` or `index`, then `code`, `raw`, `reasons`) with
        `Accept: text/csv` or `format=csv`.
        """
        with _database().connection() as conn:
            load = _load_or_404(conn, load_id)
            records = conn.execute(
                _queries()["list_rejects"], {"load_id": load_id, **args}
            ).fetchall()
        position = "line" if load["source"] == "csv" else "index"
        if wants_csv():
            return csv_response(
                [position, "code", "raw", "reasons"],
                ((line, errors[0]["code"] if errors else "", raw, "; ".join(reasons_of(errors)))
                 for line, raw, errors in records),
                f"load-{load_id}-rejects.csv",
            )  # fmt: skip
        rejects = [
            {position: line, "raw": raw, "reasons": reasons_of(errors), "errors": errors}
            for line, raw, errors in records
        ]
        next_after = records[-1][0] if len(records) == args["limit"] else None
        return {"load_id": load_id, "rejects": rejects, "next_after": next_after}


@blp.route("/loads/<int:load_id>/report")
class LoadValidationReport(MethodView):
    @blp.response(200, ValidationReportSchema)
    @document_errors(blp, 404, 503, e404="No such load")
    def get(self, load_id):
        """A load's validation report in the Frictionless standard's shape, every reject in it.

        `{"valid", "stats": {"errors", "rows"}, "tasks": [{"name", "valid", "stats",
        "errors": [{"type", "rowNumber", "fieldName", "message", "cells"}]}]}`: one error per
        problem of a rejected row, `type` its code, `rowNumber` its CSV line (or JSON index +
        1), `cells` the row's values where its raw text can be read. Streamed.
        """
        with _database().connection() as conn:
            load = _load_or_404(conn, load_id)
            errors = conn.execute(_queries()["count_errors"], {"load_id": load_id}).fetchone()[0]
        return Response(stream_with_context(_report(load, errors)), mimetype="application/json")


def _report(load: dict, errors: int):
    """The report's JSON text, a piece at a time (the rejects read with a server-side cursor)."""
    valid = load["rejected"] == 0 and load["status"] in ("completed", "dry_run")
    stats = json.dumps({"errors": errors, "rows": load["received"]})
    yield (f'{{"valid": {json.dumps(valid)}, "stats": {stats}, "tasks": [{{"name": '
           f'{json.dumps(load["table_name"])}, "valid": {json.dumps(valid)}, "stats": {stats}, '
           f'"errors": [')  # fmt: skip
    delimiter = DELIMITERS.get((load["options"] or {}).get("delimiter", ","), ",")
    offset = 0 if load["source"] == "csv" else 1
    first = True
    with _database().connection() as conn, conn.transaction():
        cursor = conn.cursor(name=f"hrapi_report_{load['id']}")
        cursor.itersize = 2000
        cursor.execute(_queries()["report_rejects"], {"load_id": load["id"]})
        for line, raw, problems in cursor:
            cells = _cells(raw, load["source"], delimiter)
            for problem in problems:
                entry = {"type": problem["code"], "rowNumber": line + offset,
                         "fieldName": problem["field"],
                         "message": reason(problem["field"], problem["message"]),
                         "cells": cells}  # fmt: skip
                yield ("" if first else ",") + json.dumps(entry)
                first = False
    yield "]}]}"


def _cells(raw: str, source: str, delimiter: str) -> list | None:
    """A rejected row's values from its raw text, where it can be read."""
    try:
        if source == "csv":
            return next(csv.reader([raw], delimiter=delimiter), [])
        row = json.loads(raw)
    except (csv.Error, ValueError):
        return None
    return list(row.values()) if isinstance(row, dict) else None

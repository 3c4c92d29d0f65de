"""Endpoints over the ingestion history: the loads and every row each one rejected."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import Schema, fields, validate

from hrapi.api_schemas import MAX_PAGE, RejectSchema, document_errors
from hrapi.formats import csv_also, csv_response, wants_csv
from hrapi.json_body import Blueprint

blp = Blueprint("loads", __name__, url_prefix="/api/v1", description="Load history and rejects")

LOAD_FIELDS = (
    "id", "table_name", "source", "filename", "on_conflict", "status", "received", "inserted",
    "updated", "unchanged", "rejected", "error", "started_at", "finished_at", "duration_ms",
)  # fmt: skip


class LoadSchema(Schema):
    id = fields.Integer()
    table = fields.String(attribute="table_name")
    source = fields.String()
    filename = fields.String(allow_none=True)
    on_conflict = fields.String()
    status = fields.String(metadata={"description": "running, completed or failed"})
    received = fields.Integer()
    inserted = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    rejected = fields.Integer()
    error = fields.String(allow_none=True)
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    duration_ms = fields.Integer(allow_none=True)


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
                ((line, errors[0]["code"] if errors else "", raw, "; ".join(reasons))
                 for line, raw, reasons, errors in records),
                f"load-{load_id}-rejects.csv",
            )  # fmt: skip
        rejects = [
            {position: line, "raw": raw, "reasons": reasons, "errors": errors}
            for line, raw, reasons, errors in records
        ]
        next_after = records[-1][0] if len(records) == args["limit"] else None
        return {"load_id": load_id, "rejects": rejects, "next_after": next_after}

"""Endpoints for AVRO backups of a table and restoring a table from one."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import RAISE, Schema, fields

from hrapi.api.json_body import Blueprint
from hrapi.api.schemas import document_errors
from hrapi.api.tables import table_or_404
from hrapi.backups import BackupError, Backups

blp = Blueprint(
    "backups",
    __name__,
    url_prefix="/api/v1",
    description="Back a table up to an AVRO file and restore it from one",
)


class BackupSchema(Schema):
    name = fields.String(metadata={"example": "20261129T070102.123456Z.avro"})
    table = fields.String()
    rows = fields.Integer()
    bytes = fields.Integer()
    sha256 = fields.String()
    created_at = fields.String(metadata={"example": "2026-11-29T07:01:02.123456Z"})


class BackupListSchema(Schema):
    backups = fields.List(fields.Nested(BackupSchema))


class RestoreArgs(Schema):
    class Meta:
        unknown = RAISE

    backup = fields.String(
        load_default=None,
        metadata={"description": "a name from the listing; leave out for the newest backup"},
    )


class RestoreReportSchema(Schema):
    table = fields.String()
    backup = fields.String()
    rows = fields.Integer(metadata={"description": "rows in the backup = rows in the table now"})
    inserted = fields.Integer()
    updated = fields.Integer()
    deleted = fields.Integer()
    unchanged = fields.Integer()
    duration_ms = fields.Integer()


def _backups() -> Backups:
    return current_app.extensions["hrapi.backups"]


@blp.route("/tables/<string:table>/backups")
class TableBackups(MethodView):
    @blp.response(201, BackupSchema)
    @document_errors(blp, 404, 503)
    def post(self, table):
        """Write an AVRO backup of the table to HRAPI_BACKUP_DIR/<table>/<UTC time>.avro."""
        return _backups().create(table_or_404(table)).as_dict()

    @blp.response(200, BackupListSchema)
    @document_errors(blp, 404)
    def get(self, table):
        """The table's backups, newest first."""
        return {"backups": [b.as_dict() for b in _backups().list(table_or_404(table))]}


@blp.route("/tables/<string:table>/restore")
class TableRestore(MethodView):
    @blp.arguments(RestoreArgs)
    @blp.response(200, RestoreReportSchema)
    @document_errors(
        blp, 400, 404, 409, 422, 503,
        e404="Unknown table, or not one of its backups",
        e422="Corrupt backup, or a body not of this shape",
    )  # fmt: skip
    def post(self, args, table):
        """Replace the table's rows with a backup's, in one transaction.

        Body `{"backup": "<name>"}`, or `{}` for the newest. If anything fails, the table is
        exactly as it was before.
        """
        target = table_or_404(table)
        try:
            return _backups().restore(target, args["backup"]).as_dict()
        except BackupError as exc:
            abort(exc.status, message=str(exc))

"""Endpoints for AVRO backups: a table's backups (create, import, list, download, restore) and
sets of all three tables (create, list, restore)."""

from __future__ import annotations

from flask import current_app, request, send_file
from flask.views import MethodView
from flask_smorest import abort
from marshmallow import RAISE, Schema, fields

from hrapi.api.errors import error_response
from hrapi.api.json_body import Blueprint
from hrapi.api.schemas import document_errors
from hrapi.api.tables import table_or_404
from hrapi.backups import BackupError, Backups

blp = Blueprint(
    "backups",
    __name__,
    url_prefix="/api/v1",
    description="Back tables up to AVRO files, import and download them, and restore from them",
)

AVRO_MIMETYPES = ("application/avro", "avro/binary", "application/octet-stream")
AVRO_BODY_DOC = {
    "requestBody": {
        "required": False,
        "description": "Leave out to back the table up now; send an AVRO file (of this "
        "table's schema, as a download gives) to import it as a new backup.",
        "content": {"application/avro": {"schema": {"type": "string", "format": "binary"}}},
    }
}
EXAMPLE_NAME = "20261129T070102.123456Z.avro"


class BackupSchema(Schema):
    name = fields.String(metadata={"example": EXAMPLE_NAME})
    table = fields.String()
    rows = fields.Integer(allow_none=True)
    bytes = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)
    created_at = fields.String(allow_none=True, metadata={"example": "2026-11-29T07:01:02.123456Z"})
    problem = fields.String(
        allow_none=True,
        metadata={
            "description": "Why this entry cannot be restored (no sidecar, not a regular file, "
            "...); null for a usable backup"
        },
    )


class BackupListSchema(Schema):
    backups = fields.List(fields.Nested(BackupSchema))


class RestoreArgs(Schema):
    class Meta:
        unknown = RAISE

    backup = fields.String(
        load_default=None,
        metadata={"description": "a name from the listing; leave out for the newest usable one"},
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


class SetTableSchema(Schema):
    rows = fields.Integer()
    bytes = fields.Integer()
    sha256 = fields.String()


class BackupSetSchema(Schema):
    name = fields.String(metadata={"example": EXAMPLE_NAME.removesuffix(".avro")})
    created_at = fields.String(allow_none=True)
    tables = fields.Dict(keys=fields.String(), values=fields.Nested(SetTableSchema))
    problem = fields.String(allow_none=True)


class BackupSetListSchema(Schema):
    sets = fields.List(fields.Nested(BackupSetSchema))


class SetRestoreSchema(Schema):
    name = fields.String()
    tables = fields.Dict(keys=fields.String(), values=fields.Nested(RestoreReportSchema))


def _backups() -> Backups:
    return current_app.extensions["hrapi.backups"]


@blp.errorhandler(BackupError)
def backup_error(exc: BackupError):
    response = error_response(exc.status, str(exc), {"rows": exc.errors} if exc.errors else None)
    if exc.status == 503:
        response.headers["Retry-After"] = "5"
    return response


def _has_body() -> bool:
    return (
        bool(request.content_length)
        or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    )


@blp.route("/tables/<string:table>/backups")
class TableBackups(MethodView):
    @blp.doc(**AVRO_BODY_DOC)
    @blp.response(201, BackupSchema)
    @document_errors(
        blp,
        404,
        413,
        415,
        422,
        503,
        e422="The uploaded file is not AVRO of this table's schema, or has rows "
        "the data dictionary refuses (their reasons in errors.rows)",
    )
    def post(self, table):
        """Back the table up to HRAPI_BACKUP_DIR/<table>/<UTC time>.avro, or import one.

        Without a body: a backup of the table as it is now. With an `application/avro` body:
        the file (from a download, say) is read whole, its schema and every row checked, and
        stored as a new backup. Either way the answer is the new backup's listing entry, and
        backups beyond HRAPI_BACKUP_KEEP are deleted, oldest first.
        """
        target = table_or_404(table)
        if not _has_body():
            return _backups().create(target).as_dict()
        if request.mimetype not in AVRO_MIMETYPES:
            abort(
                415,
                message="Send a backup to import as an application/avro body (or no body "
                f"to back the table up); got {request.mimetype or 'none'}.",
            )
        return _backups().import_backup(target, request.stream).as_dict()

    @blp.response(200, BackupListSchema)
    @document_errors(blp, 404)
    def get(self, table):
        """The table's backups, newest first (entries that cannot be restored say why)."""
        return {"backups": [b.as_dict() for b in _backups().list(table_or_404(table))]}


@blp.route("/tables/<string:table>/backups/<string:name>")
class TableBackupFile(MethodView):
    @blp.response(200, description="The AVRO file", content_type="application/avro")
    @document_errors(
        blp,
        404,
        422,
        e404="Unknown table, or not one of its backups",
        e422="The backup cannot be used (its listing entry says why)",
    )
    def get(self, table, name):
        """Download one backup (to import it elsewhere with POST .../backups)."""
        info, handle = _backups().open_download(table_or_404(table), name)
        response = send_file(
            handle,
            mimetype="application/avro",
            as_attachment=True,
            download_name=info.name,
            etag=info.sha256,
            max_age=0,
        )
        response.headers["Content-Length"] = str(info.bytes)
        return response


@blp.route("/tables/<string:table>/restore")
class TableRestore(MethodView):
    @blp.arguments(RestoreArgs)
    @blp.response(200, RestoreReportSchema)
    @document_errors(
        blp,
        400,
        404,
        409,
        415,
        422,
        503,
        e404="Unknown table, or not one of its backups",
        e415="A body that is not application/json",
        e422="The backup cannot be used (no sidecar, changed since written, not AVRO of this "
        "table, rows the data dictionary refuses), or a body not of this shape",
    )
    def post(self, args, table):
        """Replace the table's rows with a backup's, in one transaction.

        Body `{"backup": "<name>"}`, or `{}` (or none) for the newest usable one. Loads and
        batches of the table wait while it runs; when it commits the table equals the
        backup. If anything fails, the table is exactly as it was before.
        """
        if _has_body() and not request.is_json:  # its choice unread: never the newest instead
            got = request.mimetype or "none"
            abort(415, message='Send {"backup": "<name>"} as application/json (or {} for the '
                               f"newest usable backup); got {got}.")  # fmt: skip
        return _backups().restore(table_or_404(table), args["backup"]).as_dict()


@blp.route("/backups")
class BackupSets(MethodView):
    @blp.response(201, BackupSetSchema)
    @document_errors(blp, 503)
    def post(self):
        """Back all three tables up as one set, read in a single snapshot (every hire's
        department and job are in it), with a manifest of rows and sha256."""
        return _backups().create_set()

    @blp.response(200, BackupSetListSchema)
    def get(self):
        """The backup sets, newest first."""
        return {"sets": _backups().list_sets()}


@blp.route("/backups/<string:name>/restore")
class BackupSetRestore(MethodView):
    @blp.response(200, SetRestoreSchema)
    @document_errors(
        blp,
        404,
        409,
        422,
        503,
        e404="Not one of the sets",
        e422="The set cannot be used (its files changed, or rows refused)",
    )
    def post(self, name):
        """Replace all three tables with a set's rows, in one transaction (parents first):
        afterwards all three equal the set."""
        return _backups().restore_set(name)

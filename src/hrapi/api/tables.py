"""Endpoints that write and read the three tables: CSV uploads, JSON batches, paged reads."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from flask import after_this_request, current_app, request
from flask.views import MethodView
from flask_smorest import abort

from hrapi.api import request_log
from hrapi.api.csv_body import TSV, WholeBody, declared_options, file_fields
from hrapi.api.errors import error_body, replace_body
from hrapi.api.formats import csv_also, csv_response, wants_csv
from hrapi.api.json_body import Blueprint
from hrapi.api.schemas import (
    BatchSchema,
    CsvLoadArgs,
    LoadArgs,
    LoadReportSchema,
    MultiUploadSchema,
    PageArgs,
    RowsPageSchema,
    document_errors,
)
from hrapi.ingest import (
    CsvInput,
    EmptyInput,
    Ingestor,
    JsonInput,
    LoadAborted,
    SourceError,
    TableBusy,
)
from hrapi.ingest.row_schemas import ROW_SCHEMAS
from hrapi.tables import LOAD_ORDER, TABLES, Table

blp = Blueprint(
    "tables",
    __name__,
    url_prefix="/api/v1",
    description="Load departments, jobs and hired_employees (CSV or JSON) and read them back",
)

CSV_MIMETYPES = ("text/csv", "application/csv", "text/plain", TSV)
CSV_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            TSV: {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


LOAD_ARGS = LoadArgs()  # built once (schemas are reusable), not per request
CSV_LOAD_ARGS = CsvLoadArgs()


def _ingestor() -> Ingestor:
    return current_app.extensions["hrapi.ingestor"]


def table_or_404(name: str) -> Table:
    table = TABLES.get(name)
    if table is None:
        abort(404, message=f"Unknown table {name!r}; the tables are {', '.join(TABLES)}.")
    return table


def _busy(table: Table):
    """503: a load holds the table, and the request waited for it 3 s."""
    abort(503, message=f"{table.name} is held by a load until it ends (a first load holds its "
          "table; a load of hires holds departments and jobs against writes); try again "
          "shortly.", headers={"Retry-After": "5"})  # fmt: skip


class Aborted(Exception):
    """A load passed its reject limit: answered 422 with its report."""

    def __init__(self, report: dict):
        super().__init__(report["load_id"])
        self.report = report


def _run_load(table: Table, data, args: dict, filename: str | None = None) -> dict:
    try:
        report = _ingestor().load(
            table,
            data,
            filename=filename,
            limits=LOAD_ARGS.limits(args),
            request_id=request_log.request_id(),
            after_response=_after_response,
        )
    except EmptyInput:
        abort(422, message=f"No rows to load into {table.name}: the input is empty.")
    except SourceError as exc:
        abort(422, message=str(exc))
    except TableBusy:
        _busy(table)
    except LoadAborted as exc:
        request_log.note_load_id(exc.report.load_id)
        raise Aborted(exc.report.as_dict()) from exc
    finally:
        data.close()
    request_log.note_load_id(report.load_id)
    return report.as_dict()


def _after_response(work: Callable[[], None]) -> None:
    """Run work (a load's housekeeping) once this request's response has been sent."""

    @after_this_request
    def run_after(response):
        response.call_on_close(work)
        return response


@blp.errorhandler(Aborted)
def load_aborted(exc: Aborted):
    report = exc.report
    body = error_body(422, f"Load {report['load_id']} rejected {report['rejected']} of the "
                           f"{report['received']} rows it read, more than max_rejects or "
                           "max_reject_ratio allows: nothing of it was kept (its rejects are at "
                           f"/api/v1/loads/{report['load_id']}/rejects).")  # fmt: skip
    body["report"] = report
    return body, 422


def _with_reports_before(name: str, reports: list[dict]) -> None:
    """The error answer of a multi-file upload's file that failed after others were loaded
    (each file is its own load, committed): it names the file and carries their reports."""

    @after_this_request
    def add_reports(response):
        body = response.get_json(silent=True)
        if response.status_code >= 400 and isinstance(body, dict):
            body["message"] = (f"{name}: {body.get('message', '')} The files before it were "
                               "loaded: their reports are under reports.")  # fmt: skip
            body["reports"] = reports
            replace_body(response, body)
        return response


@blp.route("/tables/<string:table>/upload")
class TableUpload(MethodView):
    @blp.arguments(CSV_LOAD_ARGS, location="query")
    @blp.doc(**CSV_BODY_DOC)
    @blp.response(201, LoadReportSchema)
    @document_errors(blp, 404, 413, 415, 422, 503)
    def post(self, args, table):
        """Load one CSV file into a table.

        Send the file as a raw `text/csv` body or as the multipart field `file`. The body is
        read as it arrives, so any size works. Headerless CSV as in the historical files; a
        first line with the column names is skipped. Every row is checked; bad rows are
        rejected (see the report and /loads/{id}/rejects), the rest are loaded in one
        transaction.
        """
        target = table_or_404(table)
        if request.mimetype == "multipart/form-data":
            upload = file_fields(("file",)).get("file")
            if upload is None:
                abort(422, message="A multipart upload needs the CSV in a field named 'file'.")
            stream, filename, content = upload.stream, upload.filename, upload
        elif request.mimetype in CSV_MIMETYPES:
            stream, filename = WholeBody(request.stream, request.content_length), None
            content = request
        else:
            abort(415, message="Send CSV as a text/csv body or as multipart/form-data field "
                               f"'file'; got {request.mimetype or 'no content type'}.")  # fmt: skip
        data = CsvInput(stream, target, declared_options(args, content))
        return _run_load(target, data, args, filename)


@blp.route("/uploads")
class MultiUpload(MethodView):
    @blp.arguments(CSV_LOAD_ARGS, location="query")
    @blp.doc(
        requestBody={
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            name: {"type": "string", "format": "binary"} for name in LOAD_ORDER
                        },
                        "minProperties": 1,
                    }
                }
            },
        }
    )
    @blp.response(201, MultiUploadSchema)
    @document_errors(blp, 413, 415, 422, 503)
    def post(self, args):
        """Load several CSV files at once: departments, then jobs, then hired_employees.

        Multipart fields named after the tables; any of them may be left out. Each file is
        its own load (and transaction); the answer has one report per file, in load order.
        """
        if request.mimetype != "multipart/form-data":
            abort(415, message="Send the files as multipart/form-data.")
        uploads = file_fields(LOAD_ORDER)
        if not uploads:
            abort(422, message=f"No file fields; use any of {', '.join(LOAD_ORDER)}.")
        reports = []
        options = {name: declared_options(args, upload) for name, upload in uploads.items()}
        for name, upload in uploads.items():  # in load order
            data = CsvInput(upload.stream, TABLES[name], options[name])
            try:
                reports.append(_run_load(TABLES[name], data, args, upload.filename))
            except Exception:
                if reports:
                    _with_reports_before(name, reports)
                raise
        return {"reports": reports}


@blp.route("/tables/<string:table>/batch")
class TableBatch(MethodView):
    @blp.arguments(LOAD_ARGS, location="query")
    @blp.arguments(BatchSchema())  # one instance: building a schema per request costs
    @blp.response(201, LoadReportSchema)
    @document_errors(blp, 400, 404, 413, 415, 422, 503, e413="Body larger than HRAPI_MAX_BATCH_MB")
    def post(self, args, batch, table):
        """Insert 1 to 1000 rows given as JSON: `{"rows": [{...}, ...]}`.

        Each row is checked against the table's schema; bad rows are rejected with their
        index and reasons and the rest are loaded, in one transaction.
        """
        target = table_or_404(table)
        return _run_load(target, JsonInput(batch["rows"], target), args)


@blp.before_request
def json_batches_only():
    """A batch is JSON, and its body at most HRAPI_MAX_BATCH_MB: answered 413 before it is
    read whole (1000 ordinary rows take well under 1 MB)."""
    if request.endpoint != "tables.TableBatch" or request.method != "POST":
        return
    if not request.is_json:
        abort(415, message='Send the batch as application/json: {"rows": [...]}.')
    limit = current_app.config["HRAPI_SETTINGS"].max_batch_mb << 20
    too_large = f"A batch body may hold at most {limit >> 20} MB (HRAPI_MAX_BATCH_MB)."
    if request.content_length is not None:
        if request.content_length > limit:
            abort(413, message=too_large)
        return
    body = request.stream.read(limit + 1)  # a chunked body: read up to the limit
    if len(body) > limit:
        abort(413, message=too_large)
    request._cached_data = body  # what get_data() gives webargs then


@blp.route("/tables/<string:table>/rows")
class TableRows(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, RowsPageSchema)
    @blp.doc(**csv_also("RowsPage"))
    @document_errors(blp, 404, 422, 503)
    def get(self, args, table):
        """Read a table back in id order, a page at a time (`after`, `limit` up to 1000)."""
        target = table_or_404(table)
        queries = current_app.extensions["hrapi.table_sql"][target.name]
        database = current_app.extensions["hrapi.db"]
        with database.connection() as conn, conn.transaction():
            conn.execute(queries["wait_for_loads"])
            try:
                records = conn.execute(
                    queries["read_rows"], {"after": args["after"], "limit": args["limit"]}
                ).fetchall()
            except psycopg.errors.LockNotAvailable:
                _busy(target)
        if wants_csv():
            return csv_response(target.header, records, f"{target.name}.csv")
        schema = ROW_SCHEMAS[target.name]()
        rows = [schema.dump(dict(zip(target.columns, record, strict=True))) for record in records]
        next_after = records[-1][0] if len(records) == args["limit"] else None
        return {"rows": rows, "next_after": next_after}

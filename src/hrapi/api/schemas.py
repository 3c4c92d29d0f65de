"""Marshmallow schemas of the API's requests and answers (they document the OpenAPI page)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from hrapi.ingest.row_schemas import INT32_MAX
from hrapi.ingest.sources import DELIMITERS, ENCODINGS, HEADER_MODES, option_name
from hrapi.ingest.strategies import Limits

MAX_BATCH_ROWS = 1000
MAX_PAGE = 1000

ERRORS = {  # the error answers endpoints document, with their usual meaning
    400: "A JSON body that cannot be read",
    404: "Unknown table",
    409: "Rows would point at nothing",
    413: "Body larger than HRAPI_MAX_UPLOAD_MB",
    415: "Unsupported content type",
    422: "Request not of the documented shape",
    503: "The database is unavailable",
}


def document_errors(blp, *codes: int, **meanings: str):
    """Declare the error answers an endpoint can give (meanings: {"e404": "..."} to word one
    for this endpoint), so the OpenAPI page lists every status it returns."""

    def decorate(function):
        for code in codes:
            meaning = meanings.get(f"e{code}", ERRORS[code])
            function = blp.alt_response(code, description=meaning, schema=None)(function)
        return function

    return decorate


class LoadArgs(Schema):
    """Query parameters of every load (unknown ones are a 422)."""

    class Meta:
        unknown = RAISE

    on_conflict = fields.String(
        load_default="reject",
        validate=validate.OneOf(["reject", "update"]),
        metadata={
            "description": "What to do with a row whose id is stored with other values: "
            "reject it as a conflict (default) or update the stored row."
        },
    )
    dry_run = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Check everything a load checks (references and stored ids too) "
            "and answer the same report with status dry_run; the tables do not change."
        },
    )
    max_rejects = fields.Integer(
        load_default=None,
        validate=validate.Range(min=0),
        metadata={
            "description": "Keep nothing if more rows than this are rejected (reading stops "
            "soon after): 422 with the report, status aborted, rejects readable."
        },
    )
    max_reject_ratio = fields.Float(
        load_default=None,
        validate=validate.Range(min=0, max=1),
        metadata={
            "description": "Keep nothing if a larger share of the rows than this (0 to 1) is "
            "rejected: 422 with the report, status aborted, rejects readable."
        },
    )

    def limits(self, args: dict) -> Limits:
        return Limits(args["on_conflict"], args["dry_run"], args["max_rejects"],
                      args["max_reject_ratio"])  # fmt: skip


class CsvOption(fields.String):
    """A CSV option's value, taken by its name in any case or by an alias (sources.option_name),
    loaded as its name here; anything else names the values it may take."""

    def __init__(self, option: str, choices, **kwargs):
        super().__init__(validate=validate.OneOf(list(choices)), **kwargs)
        self.option = option

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        return option_name(self.option, text) or text  # OneOf refuses what names none


class CsvLoadArgs(LoadArgs):
    """Query parameters of CSV uploads: how the file is written."""

    delimiter = CsvOption(
        "delimiter",
        DELIMITERS,
        load_default=None,
        metadata={
            "description": "the field delimiter: `,` (default), `;`, `|` or `tab`; left out, "
            "a file sent as text/tab-separated-values is read with `tab`"
        },
    )
    encoding = CsvOption(
        "encoding",
        ENCODINGS,
        load_default=None,
        metadata={
            "description": "utf-8 (default; a byte order mark is skipped), latin-1, cp1252, or "
            "utf-16 (byte order mark required), in any case or by another of their names "
            "(ISO-8859-1, windows-1252). Bytes not valid in it are a per-row reject. Left "
            "out, the Content-Type's charset says it, if it has one (a different one: 422)."
        },
    )
    header = CsvOption(
        "header",
        HEADER_MODES,
        load_default="auto",
        metadata={
            "description": "auto (default): a first line naming the columns, in any order and "
            "case, is a header; true: the first line must be one; false: no header. With a "
            "header, values map to columns by name."
        },
    )


class RowList(fields.List):
    """A list of rows, taken as it is: each row is checked by the load (row_check), which
    rejects bad rows one by one (a list of Raw items would only copy them, item by item)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise self.make_error("invalid")
        return value


class BatchSchema(Schema):
    class Meta:
        unknown = RAISE

    error_messages = {  # noqa: RUF012 - marshmallow's own convention
        "type": 'A batch is a JSON object: {"rows": [{...}, ...]} (not a bare list or value).'
    }

    rows = RowList(
        fields.Raw(allow_none=True),
        required=True,
        validate=validate.Length(
            min=1,
            max=MAX_BATCH_ROWS,
            error=f"A batch holds 1 to {MAX_BATCH_ROWS} rows.",
        ),
        metadata={
            "description": "1 to 1000 row objects with the table's fields (see the "
            "DepartmentRow, JobRow and HiredEmployeeRow schemas). Each row is checked on its "
            "own: a bad row is rejected with its index and reasons, the others are loaded."
        },
    )


class RejectErrorSchema(Schema):
    field = fields.String(allow_none=True, metadata={"description": "the column, or null"})
    code = fields.String(
        metadata={
            "description": "missing-cell, extra-cell, type-error, constraint-error, "
            "foreign-key, primary-key, encoding-error or source-error"
        }
    )
    message = fields.String()


class RejectSchema(Schema):
    line = fields.Integer(metadata={"description": "CSV line number (CSV loads)"})
    index = fields.Integer(metadata={"description": "position in rows (JSON batches)"})
    raw = fields.String()
    reasons = fields.List(fields.String())
    errors = fields.List(fields.Nested(RejectErrorSchema))


class LoadReportSchema(Schema):
    load_id = fields.Integer()
    table = fields.String()
    status = fields.String(
        metadata={"example": "completed", "description": "completed, dry_run or aborted"}
    )
    source = fields.String(metadata={"example": "csv"})
    received = fields.Integer()
    inserted = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    rejected = fields.Integer()
    rejects = fields.List(
        fields.Nested(RejectSchema), metadata={"description": "the first 100 rejects"}
    )
    duration_ms = fields.Integer()


class MultiUploadSchema(Schema):
    reports = fields.List(fields.Nested(LoadReportSchema))


class PageArgs(Schema):
    after = fields.Integer(
        load_default=0,
        validate=validate.Range(min=-1, max=INT32_MAX),
        metadata={"description": "return the rows after this id (keyset pagination)"},
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_PAGE))
    format = fields.String(validate=validate.OneOf(["json", "csv"]))


class RowsPageSchema(Schema):
    rows = fields.List(fields.Dict())
    next_after = fields.Integer(
        allow_none=True, metadata={"description": "pass as `after` for the next page"}
    )

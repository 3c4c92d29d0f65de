"""A backup's AVRO format: its schema, rows written from COPY, and records read back checked.

The schema has the real types (int ids, string text, `timestamp-micros` for datetime), so any
AVRO reader gets typed values. Rows stream out of PostgreSQL with COPY into fastavro's writer
(memory does not grow with the table). Reading is the other way round, and a backup is input
like any other: its schema must be the table's, and every record must pass the data dictionary
(row_schemas), checked a chunk at a time with the load's column rules; the first rows it
refuses are named with their reasons (422), and nothing is restored.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterator
from itertools import islice

import fastavro
from marshmallow import ValidationError

from hrapi.backups.files import BackupError
from hrapi.ingest.column_rules import column_passes, value_passes
from hrapi.ingest.row_schemas import ROW_SCHEMAS, UtcInstant, field_errors, iso_utc
from hrapi.tables import Table

AVRO_TYPES = {
    "id": "int",
    "department": "string",
    "job": "string",
    "name": "string",
    "datetime": {"type": "long", "logicalType": "timestamp-micros"},
    "department_id": "int",
    "job_id": "int",
}
COPY_TYPES = {"int": "int4", "string": "text", "long": "timestamptz"}  # COPY BINARY types
CHUNK_RECORDS = 8192
PROBLEMS_SHOWN = 10  # refused rows named in a 422
DEFLATE_LEVEL = 1  # a fast level: a backup is written at about the speed it is read out


def avro_schema(table: Table) -> dict:
    return {
        "type": "record",
        "name": table.name,
        "namespace": "hrapi",
        "doc": f"hrapi backup of table {table.name}",
        "fields": [{"name": column, "type": AVRO_TYPES[column]} for column in table.columns],
    }


def copy_types(table: Table) -> list[str]:
    """The PostgreSQL types of the table's columns, in order (COPY BINARY in and out)."""
    return [COPY_TYPES[_base(AVRO_TYPES[c])] for c in table.columns]


def write_rows(conn, copy_out, table: Table, out) -> int:
    """Write the rows COPY `copy_out` gives (the table's columns) to out as an AVRO file;
    how many rows."""
    columns = table.columns
    count = 0

    def records():
        nonlocal count
        with conn.cursor().copy(copy_out) as copy:
            copy.set_types(copy_types(table))
            for row in copy.rows():
                count += 1
                yield dict(zip(columns, row, strict=True))

    fastavro.writer(
        out, avro_schema(table), records(), codec="deflate", codec_compression_level=DEFLATE_LEVEL
    )
    return count


class BackupReader:
    """A backup's records as rows of the table, checked, a chunk at a time. Raises
    BackupError (422) for a file that is not AVRO, of another schema, unreadable further on,
    or with a row the data dictionary refuses."""

    def __init__(self, handle, table: Table, label: str):
        self.table = table
        self.label = label
        self.rows = 0
        try:
            self._reader = fastavro.reader(handle)
        except Exception as exc:  # not AVRO at all: any error of the decoder
            raise BackupError(422, f"{label} is not an AVRO file ({_first_line(exc)}).") from exc
        self._check_schema(self._reader.writer_schema)
        schema = ROW_SCHEMAS[table.name]()
        self._schema = schema
        self._kinds = [type(schema.fields[c]) for c in table.columns]

    def chunks(self) -> Iterator[list[tuple]]:
        getter = operator.itemgetter(*self.table.columns)
        records = iter(self._reader)
        while True:
            try:
                rows = list(map(getter, islice(records, CHUNK_RECORDS)))
            except BackupError:
                raise
            except Exception as exc:  # damaged data: any error of the decoder
                raise BackupError(
                    422, f"{self.label} cannot be read after row {self.rows}: {_first_line(exc)}."
                ) from exc
            if not rows:
                return
            self._check(rows)
            self.rows += len(rows)
            yield rows

    def _check_schema(self, schema: dict | None) -> None:
        expected = [(f["name"], f["type"]) for f in avro_schema(self.table)["fields"]]
        fields = (schema or {}).get("fields") if isinstance(schema, dict) else None
        found = [(f.get("name"), f.get("type")) for f in fields or [] if isinstance(f, dict)]
        if found != expected:
            raise BackupError(
                422,
                f"{self.label} does not have the schema of {self.table.name}: "
                f"expected fields {expected}, found {found}.",
            )

    def _check(self, rows: list[tuple]) -> None:
        """Every row against the data dictionary: each column whole, the schema for the rows
        of a column that fails; raise with the first rows refused."""
        failing: set[int] = set()
        for kind, values in zip(self._kinds, zip(*rows, strict=True), strict=True):
            failing.update(_failing(values, kind))
        problems = []
        for index in sorted(failing):
            errors = self._errors(rows[index])
            if errors:
                problems.append(
                    {"row": self.rows + index + 1, "id": rows[index][0], "errors": errors}
                )
            if len(problems) == PROBLEMS_SHOWN:
                break
        if problems:
            first = "; ".join(
                f"row {p['row']}: " + " ".join(f"{e['field']}: {e['message']}" for e in p["errors"])
                for p in problems[:3]
            )
            raise BackupError(
                422,
                f"{self.label} has rows the data dictionary refuses, so it was not used: {first}.",
                problems,
            )

    def _errors(self, row: tuple) -> list[dict]:
        values = {
            c: iso_utc(v) if isinstance(v, dt.datetime) else v
            for c, v in zip(self.table.columns, row, strict=True)
        }
        try:
            self._schema.load(values)
        except ValidationError as error:
            return [
                {"field": f, "code": code, "message": message}
                for f, code, message in field_errors(error)
            ]
        return []


def _failing(values: tuple, kind) -> list[int]:
    """The indices of a column's values the data dictionary may refuse."""
    if kind is UtcInstant:  # timestamp-micros: fastavro gives an instant or fails
        if set(map(type, values)) == {dt.datetime}:
            return []
        return [i for i, v in enumerate(values) if type(v) is not dt.datetime]
    if column_passes(values, kind, None, texts=False, filled=False):
        return []
    return [i for i, v in enumerate(values) if not value_passes(v, kind, None)]


def _base(avro_type) -> str:
    return avro_type["type"] if isinstance(avro_type, dict) else avro_type


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip() or type(exc).__name__).splitlines()[0][:300]

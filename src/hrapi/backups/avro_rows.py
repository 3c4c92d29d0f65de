"""A backup's AVRO format: its schema, rows written from COPY, and records read back checked.

The schema has the real types (int ids, string text, `timestamp-micros` for datetime), so any
AVRO reader gets typed values. PostgreSQL encodes each row as its AVRO record (the functions of
sql/schema/010_avro_encoding.sql) and streams them out with COPY; here they are only framed
into deflated blocks of AVRO's object container format (memory does not grow with the table).

Reading is fastavro's, and a backup is input like any other: its schema must be the table's,
and every record must pass the data dictionary (row_schemas), checked a chunk at a time with
the load's column rules; the first rows it refuses are named with their reasons (422), and
nothing is restored.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import os
import zlib
from collections.abc import Iterator
from itertools import islice

import fastavro
from marshmallow import ValidationError

from hrapi.backups import avro_blocks
from hrapi.backups.errors import BackupError
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
MAGIC = b"Obj\x01"  # an AVRO object container file
BLOCK_HEX_BYTES = 1 << 19  # hex text per block: 256 KiB of records before compression
DEFLATE_LEVEL = 1  # a fast level: a backup is written at about the speed it is read out


def avro_schema(table: Table) -> dict:
    return {
        "type": "record",
        "name": table.name,
        "namespace": "hrapi",
        "doc": f"hrapi backup of table {table.name}",
        "fields": [{"name": column, "type": AVRO_TYPES[column]} for column in table.columns],
    }


def write_rows(conn, records_sql, table: Table, out) -> int:
    """Write an AVRO object container file of table to out, from `records_sql`: a COPY that
    gives each row's AVRO record in hex, a line each (sql/backups/avro_records_*.sql, encoded
    by the database). Here the records are only framed into deflated blocks. How many rows."""
    sync = os.urandom(16)
    meta = {"avro.schema": json.dumps(avro_schema(table)).encode(), "avro.codec": b"deflate"}
    out.write(MAGIC + _long(len(meta)))
    for key, value in meta.items():
        out.write(_long(len(key)) + key.encode() + _long(len(value)) + value)
    out.write(_long(0) + sync)
    rows = 0
    pending = bytearray()
    with conn.cursor().copy(records_sql) as copy:
        for data in copy:
            pending += data
            if len(pending) >= BLOCK_HEX_BYTES:
                cut = pending.rindex(b"\n") + 1
                rows += _write_block(out, pending[:cut], sync)
                del pending[:cut]
    if pending:
        rows += _write_block(out, pending, sync)
    return rows


def _write_block(out, lines: bytearray, sync: bytes) -> int:
    """One block of records given as hex lines; how many records."""
    count = lines.count(b"\n")
    packer = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)  # AVRO's deflate: raw
    data = packer.compress(bytes.fromhex(lines.decode("ascii"))) + packer.flush()
    out.write(_long(count) + _long(len(data)) + data + sync)
    return count


def _long(value: int) -> bytes:
    """AVRO's encoding of a long (zig-zag, then 7 bits a byte), for the few the frame needs."""
    value = (value << 1) ^ (value >> 63)
    encoded = bytearray()
    while value > 0x7F:
        encoded.append((value & 0x7F) | 0x80)
        value >>= 7
    encoded.append(value)
    return bytes(encoded)


def copy_types(table: Table) -> list[str]:
    """The PostgreSQL types of the table's columns, in order (a restore's COPY BINARY)."""
    return [COPY_TYPES[_base(AVRO_TYPES[c])] for c in table.columns]


def _base(avro_type) -> str:
    return avro_type["type"] if isinstance(avro_type, dict) else avro_type


class BackupReader:
    """A backup's records as rows of the table, checked, a chunk at a time. Raises
    BackupError (422) for a file that is not AVRO, of another schema, unreadable further on,
    or with a row the data dictionary refuses."""

    def __init__(self, handle, table: Table, label: str):
        self.table = table
        self.label = label
        self.rows = 0
        self.ascending = True  # every id larger than the one before: none repeats
        self._last_id = None
        avro_blocks.install()  # blocks of a bounded size only
        try:
            self._reader = fastavro.reader(handle)
        except Exception as exc:  # not AVRO at all: any error of the decoder
            raise BackupError(422, f"{label} is not an AVRO file ({_first_line(exc)}).") from exc
        self._check_schema(self._reader.writer_schema)
        codec = self._reader.codec
        if codec not in avro_blocks.CODECS:
            raise BackupError(422, f"{label} is compressed with {codec!r}: hrapi reads "
                                   f"{' and '.join(avro_blocks.CODECS)} (its own backups are "
                                   f"deflate).")  # fmt: skip
        schema = ROW_SCHEMAS[table.name]()
        self._schema = schema
        self._kinds = [type(schema.fields[c]) for c in table.columns]

    def chunks(self) -> Iterator[list[tuple]]:
        """The records a chunk at a time, as columns (tuples of values, in column order)."""
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
            columns = list(zip(*rows, strict=True))
            self._check(rows, columns)
            self._note_order(columns[0])
            self.rows += len(rows)
            yield columns

    def _note_order(self, ids: tuple) -> None:
        """Whether every id so far is larger than the one before (then none repeats)."""
        if self.ascending:
            self.ascending = (self._last_id is None or self._last_id < ids[0]) and all(
                map(operator.lt, ids, ids[1:])
            )
            self._last_id = ids[-1]

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

    def _check(self, rows: list[tuple], columns: list[tuple]) -> None:
        """Every row against the data dictionary: each column whole, the schema for the rows
        of a column that fails; raise with the first rows refused."""
        failing: set[int] = set()
        for kind, values in zip(self._kinds, columns, strict=True):
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


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip() or type(exc).__name__).splitlines()[0][:300]

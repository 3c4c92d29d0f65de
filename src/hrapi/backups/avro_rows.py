"""A backup's AVRO format: its schema, rows written from COPY, and records read back checked.

The schema has the real types (int ids, string text, `timestamp-micros` for datetime), so any
AVRO reader gets typed values. PostgreSQL encodes each row as its AVRO record (the functions of
sql/schema/010_avro_encoding.sql) and streams them out with COPY; here they are only framed
into deflated blocks of AVRO's object container format (memory does not grow with the table).

Reading is fastavro's, behind a copy of the header that reads datetimes as the microseconds
they are written as (avro_header), and a backup is input like any other: its schema must be
the table's, and every record must pass the data dictionary (row_schemas), checked a chunk at
a time with the load's column rules; the first rows it refuses are named with their reasons
(422), and nothing is restored.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import os
import zlib
from collections.abc import Iterator
from itertools import islice, repeat

import fastavro
from marshmallow import ValidationError

from hrapi.backups import avro_blocks
from hrapi.backups.avro_header import INSTANT, Prefixed, encode, encode_long, read_header
from hrapi.backups.errors import BackupError
from hrapi.ingest.column_rules import column_passes, value_passes
from hrapi.ingest.row_schemas import ROW_SCHEMAS, UtcInstant, code_of, field_errors, iso_utc
from hrapi.tables import Table

AVRO_TYPES = {
    "id": "int",
    "department": "string",
    "job": "string",
    "name": "string",
    "datetime": INSTANT,
    "department_id": "int",
    "job_id": "int",
}
# COPY BINARY's types. A timestamptz travels as its microseconds since 2000-01-01, an int8 as
# itself, in the same eight bytes: a record's microseconds since 1970, moved to 2000, go as is.
COPY_TYPES = {"int": "int4", "string": "text", "long": "int8"}
SINCE_2000_US = 946_684_800_000_000  # 2000-01-01 in microseconds since 1970
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# The instants the data dictionary takes (years 1 to 9999 in UTC), in microseconds since 1970.
FIRST_US = (dt.datetime(1, 1, 1, tzinfo=dt.UTC) - EPOCH) // dt.timedelta(microseconds=1)
LAST_US = (dt.datetime.max.replace(tzinfo=dt.UTC) - EPOCH) // dt.timedelta(microseconds=1)
OUT_OF_RANGE = UtcInstant.default_error_messages["out_of_range"]
CHUNK_RECORDS = 8192
PROBLEMS_SHOWN = 10  # refused rows named in a 422
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
    out.write(encode(meta, sync))
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
    out.write(encode_long(count) + encode_long(len(data)) + data + sync)
    return count


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
            header = read_header(handle)
            schema = header.schema()
        except Exception as exc:  # not AVRO at all: any error of reading its header
            raise BackupError(422, f"{label} is not an AVRO file ({_first_line(exc)}).") from exc
        self._check_schema(schema)
        try:  # see avro_header: the same bytes, datetimes decoded as integers
            self._reader = fastavro.reader(Prefixed(header.with_instants_as_longs(schema), handle))
        except Exception as exc:  # any error of the decoder
            raise BackupError(422, f"{label} is not an AVRO file ({_first_line(exc)}).") from exc
        codec = self._reader.codec
        if codec not in avro_blocks.CODECS:
            raise BackupError(422, f"{label} is compressed with {codec!r}: hrapi reads "
                                   f"{' and '.join(avro_blocks.CODECS)} (its own backups are "
                                   f"deflate).")  # fmt: skip
        schema = ROW_SCHEMAS[table.name]()
        self._schema = schema
        self._kinds = [type(schema.fields[c]) for c in table.columns]
        self._instants = self._kinds.index(UtcInstant) if UtcInstant in self._kinds else None

    def chunks(self) -> Iterator[list[tuple]]:
        """The records a chunk at a time, as columns (tuples of values, in column order) for
        COPY BINARY (copy_types): datetimes as microseconds since 2000-01-01."""
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
            if self._instants is not None:
                since_1970 = columns[self._instants]
                columns[self._instants] = tuple(map(operator.sub, since_1970,
                                                    repeat(SINCE_2000_US)))  # fmt: skip
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
        values = dict(zip(self.table.columns, row, strict=True))
        errors, partial = [], False
        if self._instants is not None:  # microseconds since 1970: the schema reads text
            column = self.table.columns[self._instants]
            if _instant_fits(values[column]):
                values[column] = iso_utc(EPOCH + dt.timedelta(microseconds=values[column]))
            else:  # no instant to give the schema, which judges the other fields
                del values[column]
                errors.append({"field": column, "code": code_of(OUT_OF_RANGE),
                               "message": OUT_OF_RANGE})  # fmt: skip
                partial = (column,)
        try:
            self._schema.load(values, partial=partial)
        except ValidationError as error:
            errors += [
                {"field": f, "code": code, "message": message}
                for f, code, message in field_errors(error)
            ]
        columns = self.table.columns  # in field order, as field_errors gives them
        return sorted(errors, key=lambda e: columns.index(e["field"]) if e["field"] in columns
                      else len(columns))  # fmt: skip


def _instant_fits(value) -> bool:
    return type(value) is int and FIRST_US <= value <= LAST_US


def _failing(values: tuple, kind) -> list[int]:
    """The indices of a column's values the data dictionary may refuse."""
    if kind is UtcInstant:  # timestamp-micros, read as microseconds since 1970
        if set(map(type, values)) == {int} and min(values) >= FIRST_US and max(values) <= LAST_US:
            return []
        return [i for i, v in enumerate(values) if not _instant_fits(v)]
    if column_passes(values, kind, None, texts=False, filled=False):
        return []
    return [i for i, v in enumerate(values) if not value_passes(v, kind, None)]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip() or type(exc).__name__).splitlines()[0][:300]

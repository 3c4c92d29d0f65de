"""AVRO backups of a table on the file system, and restoring a table from one.

A backup is `BACKUP_DIR/<table>/<UTC timestamp>.avro`, written with fastavro from rows
streamed out of PostgreSQL with COPY (memory does not grow with the table), under a temporary
name that is renamed only once complete. Its schema is embedded with the real types (int ids,
string text, `timestamp-micros` for datetime). A `<name>.json` beside it records the row count
and sha256.

A restore replaces the table's rows with the backup's in one transaction: the file is checked
(name, checksum, schema), decoded into a staging table, checked for references that would
dangle, then merged into the table. On any failure the table is left exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import fastavro
import psycopg

from hrapi.db import Database
from hrapi.sql_files import compose_for_table, compose_per_table, load_group
from hrapi.tables import TABLES, Table

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"\d{8}T\d{6}\.\d{6}Z\.avro\Z")
RESTORE_STEPS = (
    "copy_out", "create_stage", "copy_stage", "delete_absent", "update_changed", "insert_missing",
    "dangling_after_departments", "dangling_after_jobs", "dangling_after_hired_employees",
)  # fmt: skip
AVRO_TYPES = {
    "id": "int",
    "department": "string",
    "job": "string",
    "name": "string",
    "datetime": {"type": "long", "logicalType": "timestamp-micros"},
    "department_id": "int",
    "job_id": "int",
}
COPY_TYPES = {"int": "int4", "string": "text", "long": "timestamptz"}


class BackupError(Exception):
    """A backup cannot be used; `status` is the HTTP status that says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def avro_schema(table: Table) -> dict:
    return {
        "type": "record",
        "name": table.name,
        "namespace": "hrapi",
        "doc": f"hrapi backup of table {table.name}",
        "fields": [{"name": column, "type": AVRO_TYPES[column]} for column in table.columns],
    }


@dataclass
class BackupInfo:
    name: str
    table: str
    rows: int
    bytes: int
    sha256: str
    created_at: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class RestoreReport:
    table: str
    backup: str
    rows: int
    inserted: int
    updated: int
    deleted: int
    unchanged: int
    duration_ms: int

    def as_dict(self) -> dict:
        return asdict(self)


class _HashingWriter:
    """A file wrapper that hashes and counts what is written through it."""

    def __init__(self, handle):
        self.handle = handle
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.bytes += len(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()

    def seekable(self) -> bool:
        return False  # fastavro would otherwise try to append to an existing file


class Backups:
    """Writes, lists and restores backups. Built once per app (SQL read at start-up)."""

    def __init__(self, database: Database, sql_dir: Path, backup_dir: Path):
        self.database = database
        self.backup_dir = backup_dir
        self.sql = compose_per_table(load_group(sql_dir, "backups", required=RESTORE_STEPS))
        lock = load_group(sql_dir, "ingest", required=("lock_target",))["lock_target"]
        self.lock = {name: compose_for_table(lock, table) for name, table in TABLES.items()}

    def folder(self, table: Table) -> Path:
        return self.backup_dir / table.name

    # -- writing ---------------------------------------------------------------------------

    def create(self, table: Table) -> BackupInfo:
        """Write a backup of table; returns its description."""
        folder = self.folder(table)
        folder.mkdir(parents=True, exist_ok=True)
        created = dt.datetime.now(dt.UTC)
        name = created.strftime("%Y%m%dT%H%M%S.%fZ") + ".avro"
        final = folder / name
        temporary = folder / f".{name}.partial"
        counter = {"rows": 0}
        try:
            with self.database.connection() as conn, temporary.open("wb") as handle:
                out = _HashingWriter(handle)
                records = self._records(conn, table, counter)
                fastavro.writer(out, avro_schema(table), records, codec="deflate")
                handle.flush()
                os.fsync(handle.fileno())
            info = BackupInfo(
                name=name,
                table=table.name,
                rows=counter["rows"],
                bytes=out.bytes,
                sha256=out.sha256.hexdigest(),
                created_at=created.isoformat().replace("+00:00", "Z"),
            )
            (folder / f"{name}.json").write_text(json.dumps(info.as_dict()))
            temporary.rename(final)
        finally:
            temporary.unlink(missing_ok=True)
        log.info("backup table=%s name=%s rows=%s bytes=%s", table.name, name, info.rows,
                 info.bytes)  # fmt: skip
        return info

    def _records(self, conn, table: Table, counter: dict) -> Iterator[dict]:
        types = [COPY_TYPES[_avro_base(AVRO_TYPES[c])] for c in table.columns]
        with conn.cursor().copy(self.sql[table.name]["copy_out"]) as copy:
            copy.set_types(types)
            for row in copy.rows():
                counter["rows"] += 1
                yield dict(zip(table.columns, row, strict=True))

    # -- listing ---------------------------------------------------------------------------

    def list(self, table: Table) -> list[BackupInfo]:
        """The table's complete backups, newest first."""
        folder = self.folder(table)
        if not folder.is_dir():
            return []
        names = sorted((p.name for p in folder.iterdir() if NAME_PATTERN.match(p.name)),
                       reverse=True)  # fmt: skip
        return [self._describe(table, name) for name in names]

    def _describe(self, table: Table, name: str) -> BackupInfo:
        path = self.folder(table) / name
        sidecar = path.with_name(name + ".json")
        try:
            return BackupInfo(**json.loads(sidecar.read_text()))
        except (OSError, ValueError, TypeError):
            # No (readable) record beside the file: describe it from the file itself.
            rows = sum(block.num_records for block in fastavro.block_reader(path.open("rb")))
            created = dt.datetime.strptime(name[:-5], "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=dt.UTC)
            return BackupInfo(name, table.name, rows, path.stat().st_size, _sha256(path),
                              created.isoformat().replace("+00:00", "Z"))  # fmt: skip

    # -- restoring -------------------------------------------------------------------------

    def resolve(self, table: Table, name: str | None) -> BackupInfo:
        """The listed backup called name (the newest for None); 404 for anything else.

        The name is compared with the listing, so no path the client sends is ever opened.
        """
        backups = self.list(table)
        if not backups:
            raise BackupError(404, f"There are no backups of {table.name}.")
        if name is None:
            return backups[0]
        for backup in backups:
            if backup.name == name:
                return backup
        raise BackupError(404, f"{name!r} is not one of the backups of {table.name}; "
                               f"GET /api/v1/tables/{table.name}/backups lists them.")  # fmt: skip

    def restore(self, table: Table, name: str | None = None) -> RestoreReport:
        started = dt.datetime.now(dt.UTC)
        backup = self.resolve(table, name)
        path = self.folder(table) / backup.name
        if _sha256(path) != backup.sha256:
            raise BackupError(422, f"Backup {backup.name} has changed since it was written "
                                   "(its sha256 does not match); it was not restored.")  # fmt: skip
        steps = self.sql[table.name]
        with path.open("rb") as handle, self.database.connection() as conn:
            try:
                reader = fastavro.reader(handle)
                _check_schema(table, reader.writer_schema, backup.name)
                with conn.transaction():
                    conn.execute(self.lock[table.name])
                    conn.execute(steps["create_stage"])
                    rows = 0
                    with conn.cursor().copy(steps["copy_stage"]) as copy:
                        for record in reader:
                            copy.write_row(tuple(record[c] for c in table.columns))
                            rows += 1
                    dangling, first = conn.execute(steps[f"dangling_after_{table.name}"]).fetchone()
                    if dangling:
                        raise BackupError(409, _dangling_message(table, dangling, first,
                                                                 backup.name))  # fmt: skip
                    deleted = conn.execute(steps["delete_absent"]).rowcount
                    updated = conn.execute(steps["update_changed"]).rowcount
                    inserted = conn.execute(steps["insert_missing"]).rowcount
            except (BackupError, psycopg.OperationalError):
                raise  # a clear answer already, or the database is away (503)
            except psycopg.errors.ForeignKeyViolation as exc:
                raise BackupError(409, "The restore would leave rows pointing at nothing: "
                                       f"{_first_line(exc)}") from exc  # fmt: skip
            except Exception as exc:  # corrupt bytes can fail in any way
                log.warning("restore of %s/%s failed: %r", table.name, backup.name, exc)
                raise BackupError(422, f"Backup {backup.name} cannot be restored: "
                                       f"{_first_line(exc)}") from exc  # fmt: skip
        report = RestoreReport(
            table=table.name, backup=backup.name, rows=rows, inserted=inserted, updated=updated,
            deleted=deleted, unchanged=rows - inserted - updated,
            duration_ms=round((dt.datetime.now(dt.UTC) - started).total_seconds() * 1000),
        )  # fmt: skip
        log.info("restore table=%s backup=%s rows=%s inserted=%s updated=%s deleted=%s",
                 table.name, backup.name, rows, inserted, updated, deleted)  # fmt: skip
        return report


def _check_schema(table: Table, schema: dict, name: str) -> None:
    expected = [(f["name"], f["type"]) for f in avro_schema(table)["fields"]]
    found = [(f.get("name"), f.get("type")) for f in (schema or {}).get("fields", [])]
    if found != expected:
        raise BackupError(422, f"Backup {name} does not have the schema of {table.name}: "
                               f"expected fields {expected}, found {found}.")  # fmt: skip


def _dangling_message(table: Table, count: int, first: list[int], name: str) -> str:
    ids = ", ".join(map(str, first)) + (", ..." if count > len(first) else "")
    if table.name == "hired_employees":
        return (f"Restoring {name} would add {count} hires whose department or job does not "
                f"exist (ids {ids}); restore departments and jobs first.")  # fmt: skip
    return (f"Restoring {name} would leave {count} hires pointing at {table.name} that the "
            f"backup does not have (hire ids {ids}); change or remove those hires "
            "first.")  # fmt: skip


def _avro_base(avro_type) -> str:
    return avro_type["type"] if isinstance(avro_type, dict) else avro_type


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip() or type(exc).__name__).splitlines()[0]

"""Backups as the API and the CLI use them: create, import, list, download and restore a
table's backups, and sets of all three tables.

Built once per app (the SQL is read at start-up). The files are files.BackupFiles' business,
the AVRO format avro_rows', the database side of a restore restore's.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from hrapi.backups import avro_rows
from hrapi.backups.errors import BackupError
from hrapi.backups.files import BackupFiles, BackupInfo
from hrapi.backups.restore import STAGE_PREFIX, RestoreReport, restore_tables
from hrapi.backups.sets import SETS, BackupSets
from hrapi.db import Database
from hrapi.ingest.session import may_skip_key_checks
from hrapi.sql_files import add_table_queries, compose_for_table, compose_per_table, load_group
from hrapi.tables import LOAD_ORDER, TABLES, Table

log = logging.getLogger(__name__)

BACKUP_QUERIES = (
    "avro_records_named",
    "avro_records_hired_employees",
    "create_stage",
    "copy_stage",
    "key_stage",
    "analyze_stage",
    "lock_table",
    "delete_absent",
    "update_changed",
    "insert_missing",
    "dangling_after_departments",
    "dangling_after_jobs",
    "dangling_after_hired_employees",
    "read_only_snapshot",
)
TABLE_QUERIES = ("table_is_empty", "wait_for_loads")  # of sql/tables, shared with the API
SHARED_STEPS = (  # the ingest steps a restore shares with loads
    "tune_session",
    "lock_parents",
    "may_skip_key_checks",
    "skip_key_checks",
    "check_keys_per_row",
)


class Backups:
    """Backups of the tables under backup_dir, keeping the newest `keep` of each (None: all)."""

    def __init__(
        self, database: Database, sql_dir: Path, backup_dir: Path, keep: int | None = None
    ):
        self.database = database
        self.files = BackupFiles(backup_dir, keep)
        self.sets = BackupSets(backup_dir, keep)
        templates = load_group(sql_dir, "backups", required=BACKUP_QUERIES)
        self.sql = compose_per_table(templates, stage_prefix=STAGE_PREFIX)
        for name, table in TABLES.items():  # the same steps on the table itself, not a stage
            own = sql.Identifier(name)
            self.sql[name]["copy_into_table"] = compose_for_table(
                templates["copy_stage"], table, stage=own
            )
            self.sql[name]["dangling_stored"] = compose_for_table(
                templates["dangling_after_hired_employees"], table, stage=own)  # fmt: skip
        shared = load_group(sql_dir, "ingest", required=SHARED_STEPS)
        self.shared = {
            name: compose_for_table(shared[name], TABLES["hired_employees"])
            for name in SHARED_STEPS
        }
        self._may_skip: bool | None = None  # asked of the database once
        add_table_queries(self.sql, sql_dir, TABLE_QUERIES)

    def folder(self, table: Table) -> Path:
        return self.files.folder(table.name)

    # -- one table ---------------------------------------------------------------------------

    def create(self, table: Table) -> BackupInfo:
        """Write a backup of table (one statement: one snapshot); its listing entry. 503 when
        a load holds the table for more than a few seconds (nothing is written)."""
        with (
            self.database.connection() as conn,
            _while_loads_hold_it(table.name),  # inside: the pool would call it unavailable
            self.files.writing(table.name) as (out, meta),
        ):
            conn.execute(self.shared["tune_session"])  # no JIT: compiling costs more than it saves
            conn.execute(self.sql[table.name]["wait_for_loads"])
            meta["rows"] = avro_rows.write_rows(conn, self._records_sql(table), table, out)
        log.info(
            "backup table=%s name=%s rows=%s bytes=%s",
            table.name,
            meta["name"],
            meta["rows"],
            meta["bytes"],
        )
        return _info(meta)

    def import_backup(self, table: Table, stream) -> BackupInfo:
        """Store an AVRO file made elsewhere as a new backup of table, once it is read whole
        and every row found valid (else 422, and nothing is kept)."""
        with self.files.writing(table.name) as (out, meta):
            reader = avro_rows.BackupReader(_Tee(stream, out), table, "The uploaded file")
            for _ in reader.chunks():
                pass
            if stream.read(1):
                raise BackupError(422, "The uploaded file goes on after its last AVRO block.")
            meta["rows"] = reader.rows
        log.info("backup imported table=%s name=%s rows=%s", table.name, meta["name"], meta["rows"])
        return _info(meta)

    def list(self, table: Table) -> list[BackupInfo]:
        return self.files.list(table.name)

    def open_download(self, table: Table, name: str):
        """(listing entry, the file opened and checked) of a usable backup; 404 or 422."""
        info = self.files.find(table.name, name)
        return info, self.files.open_checked((table.name,), info.name, info.sha256)

    def restore(self, table: Table, name: str | None = None) -> RestoreReport:
        """Replace table's rows with a backup's (the newest usable one for None)."""
        info = self.files.find(table.name, name)
        with self.files.open_checked((table.name,), info.name, info.sha256) as handle:
            reader = avro_rows.BackupReader(handle, table, f"Backup {info.name}")
            return self._restore([(table, info.name, reader)])[0]

    # -- sets of all three tables --------------------------------------------------------------

    def create_set(self) -> dict:
        """One backup of each table, read in a single snapshot, with a manifest."""
        with (
            self.database.connection() as conn,
            _while_loads_hold_it("a table of the set"),
            conn.transaction(),
            self.sets.writing() as (name, open_table, tables),
        ):
            conn.execute(self.sql["departments"]["read_only_snapshot"])
            conn.execute(self.shared["tune_session"])
            conn.execute(self.sql["hired_employees"]["wait_for_loads"])  # one setting for all
            for table_name in LOAD_ORDER:
                table = TABLES[table_name]
                out = open_table(table_name)
                rows = avro_rows.write_rows(conn, self._records_sql(table), table, out)
                tables[table_name] = {"rows": rows}
        entry = next(s for s in self.sets.list() if s["name"] == name)
        log.info(
            "backup set name=%s %s",
            name,
            " ".join(f"{t}={v['rows']}" for t, v in entry["tables"].items()),
        )
        return entry

    def list_sets(self) -> list[dict]:
        return self.sets.list()

    def restore_set(self, name: str) -> dict:
        """Replace all three tables with a set's rows, in one transaction."""
        entry = self.sets.find(name, LOAD_ORDER)
        with ExitStack() as stack:
            sources = []
            for table_name in LOAD_ORDER:
                sha256 = entry["tables"][table_name]["sha256"]
                handle = self.files.open_checked((SETS, name), f"{table_name}.avro", sha256)
                stack.enter_context(handle)
                label = f"Backup set {name}, {table_name}"
                reader = avro_rows.BackupReader(handle, TABLES[table_name], label)
                sources.append((TABLES[table_name], name, reader))
            reports = self._restore(sources)
        return {"name": name, "tables": {r.table: r.as_dict() for r in reports}}

    def _records_sql(self, table: Table):
        """The COPY of the table's AVRO records (sql/backups/avro_records_*.sql)."""
        query = "avro_records_hired_employees" if table.name == "hired_employees" else (
            "avro_records_named")  # fmt: skip
        return self.sql[table.name][query]

    def _restore(self, sources) -> list[RestoreReport]:
        with self.database.connection() as conn:
            if self._may_skip is None:
                self._may_skip = may_skip_key_checks(conn, self.shared["may_skip_key_checks"])
            return restore_tables(conn, self.sql, sources, self.shared, self._may_skip)


def _info(meta: dict) -> BackupInfo:
    fields = ("name", "table", "rows", "bytes", "sha256", "created_at")
    return BackupInfo(**{key: meta[key] for key in fields})


class _Tee:
    """A binary stream read through, what is read written to out as well."""

    def __init__(self, stream, out):
        self._stream = stream
        self._out = out

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if data:
            self._out.write(data)
        return data


@contextmanager
def _while_loads_hold_it(what: str):
    """A backup that waited too long for a load holding its table (the first load of an empty
    table holds it until it commits: sql/tables/wait_for_loads.sql) is a 503, not a worker tied
    up for the length of the load."""
    try:
        yield
    except psycopg.errors.LockNotAvailable:
        raise BackupError(503, f"{what} is being loaded (a first load holds its table until "
                               "it ends); try again shortly.") from None  # fmt: skip

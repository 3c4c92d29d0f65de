"""Restoring tables from backups, in one transaction: staged, checked, locked, merged.

A backup restored alone into an empty table goes straight in (see _into_empty_table).
Otherwise each backup's rows (checked against the data dictionary as they are read) COPY into a
staging table of their own; unless their ids rise row after row (as our own backups' do), the
primary key is built over them (an id twice: 422). Then the
tables are locked against every writer (sql/backups/lock_table.sql), references that would
dangle are refused (409: checked set-based, so that the merge skips the per-row key probes
where the role may, as loads do), and each table is merged: rows the backup lacks deleted, changed
rows updated, missing rows inserted (never delete-all-then-insert, so parents that hires point
at are never gone, even briefly). A set merges parents' inserts and updates first, then the
hires, then the parents' deletes, so the foreign keys hold at every statement. On any failure
the transaction rolls back and the tables are exactly as they were.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

import psycopg

from hrapi.backups.avro_rows import BackupReader, copy_types
from hrapi.backups.errors import BackupError
from hrapi.tables import Table

log = logging.getLogger(__name__)

STAGE_PREFIX = "hrapi_restore_"
LOCK_ATTEMPTS = 5  # a restore of several tables may meet a load that locks them in another order


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


@dataclass
class _Staged:
    table: Table
    backup: str
    rows: int
    inserted: int = 0
    updated: int = 0
    deleted: int = 0


def restore_tables(
    conn, steps: dict, sources: list[tuple[Table, str, BackupReader]], common: dict, skip_keys: bool
) -> list[RestoreReport]:
    """Replace each source's table with its backup's rows, in one transaction (parents first
    in sources). steps: {table: {query: SQL}} of sql/backups; common: the ingest steps it
    shares (tune_session, lock_parents, skip_key_checks, check_keys_per_row); skip_keys:
    whether the role may skip the per-row foreign-key probes (see skip_key_checks.sql)."""
    started = time.perf_counter()
    try:
        with conn.transaction():
            conn.execute(common["tune_session"])
            if len(sources) == 1 and skip_keys:
                into_empty = _into_empty_table(conn, steps, common, sources[0])
                if into_empty:
                    return _reports([into_empty], started)
            staged = [_stage(conn, steps[t.name], t, name, reader) for t, name, reader in sources]
            _lock(conn, [steps[s.table.name]["lock_table"] for s in staged])
            hires = next((s for s in staged if s.table.name == "hired_employees"), None)
            if len(staged) == 1:
                if hires and skip_keys:  # the references checked now stay valid
                    conn.execute(common["lock_parents"])
                _refuse_dangling(conn, steps[staged[0].table.name], staged[0])
            if skip_keys:  # every reference is checked set-based instead, the tables locked
                conn.execute(common["skip_key_checks"])
            _merge(conn, steps, staged)
            if skip_keys:
                if len(staged) > 1 and hires:  # the hires now stored, against the parents now
                    _refuse_dangling(conn, steps["hired_employees"], hires)
                conn.execute(common["check_keys_per_row"])
    except BackupError:
        raise
    except psycopg.errors.ForeignKeyViolation as exc:
        raise BackupError(
            409, f"The restore would leave rows pointing at nothing: {_diagnosis(exc)}"
        ) from exc
    except psycopg.errors.UniqueViolation as exc:
        raise BackupError(
            422, f"The backup holds an id more than once ({_diagnosis(exc)}); it was not restored."
        ) from exc
    except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
        raise BackupError(422, f"The backup cannot be restored: {_diagnosis(exc)}") from exc
    return _reports(staged, started)


def _reports(staged: list[_Staged], started: float) -> list[RestoreReport]:
    duration_ms = round((time.perf_counter() - started) * 1000)
    reports = [
        RestoreReport(s.table.name, s.backup, s.rows, s.inserted, s.updated, s.deleted,
                      s.rows - s.inserted - s.updated, duration_ms)
        for s in staged
    ]  # fmt: skip
    for r in reports:
        log.info("restore table=%s backup=%s rows=%s inserted=%s updated=%s deleted=%s",
                 r.table, r.backup, r.rows, r.inserted, r.updated, r.deleted)  # fmt: skip
    return reports


def _into_empty_table(conn, steps: dict, common: dict, source: tuple) -> _Staged | None:
    """A backup restored into an empty table (a disaster's restore), straight in: nothing
    to merge, so no stage; the table locked first, the per-row key probes skipped (the role
    may), references checked set-based afterwards with the parents locked, and the table's
    primary key refusing an id twice. None, having done nothing, if the table holds rows."""
    table, name, reader = source
    table_steps = steps[table.name]
    if not conn.execute(table_steps["table_is_empty"]).fetchone()[0]:
        return None
    _lock(conn, [table_steps["lock_table"]])
    if not conn.execute(table_steps["table_is_empty"]).fetchone()[0]:
        return None  # a writer came first: merge (the lock is held already)
    if table.name == "hired_employees":
        conn.execute(common["lock_parents"])
    conn.execute(common["skip_key_checks"])
    _copy(conn, table_steps["copy_into_table"], table, reader)
    restored = _Staged(table, name, reader.rows, inserted=reader.rows)
    if table.name == "hired_employees":  # a department or job table empty: no hire points at it
        _refuse_dangling(conn, {"dangling_after_hired_employees": table_steps["dangling_stored"]},
                         restored)  # fmt: skip
    conn.execute(common["check_keys_per_row"])
    return restored


def _stage(conn, steps: dict, table: Table, name: str, reader: BackupReader) -> _Staged:
    conn.execute(steps["create_stage"])
    _copy(conn, steps["copy_stage"], table, reader)
    if not reader.ascending:  # ids out of order may repeat: the key says (our own are in order)
        conn.execute(steps["key_stage"])
    conn.execute(steps["analyze_stage"])
    return _Staged(table, name, reader.rows)


def _copy(conn, copy_sql, table: Table, reader: BackupReader) -> None:
    """The backup's rows, checked as they are read, into COPY BINARY."""
    with conn.cursor().copy(copy_sql) as copy:
        copy.set_types(copy_types(table))
        for columns in reader.chunks():
            for row in zip(*columns, strict=True):
                copy.write_row(row)


def _lock(conn, locks: list) -> None:
    """Take every table's restore lock; a deadlock with a load that locks the same tables in
    another order (the database ends one of the two) is tried again."""
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        try:
            with conn.transaction():  # a savepoint: a deadlock releases what it took
                for lock in locks:
                    conn.execute(lock)
            return
        except psycopg.errors.DeadlockDetected:
            if attempt == LOCK_ATTEMPTS:
                raise
            log.warning("restore: deadlock while locking (attempt %s); trying again", attempt)
            time.sleep(0.05 * attempt)


def _refuse_dangling(conn, steps: dict, staged: _Staged) -> None:
    """409 when restoring one table would leave hires pointing at nothing."""
    table = staged.table
    dangling, first = conn.execute(steps[f"dangling_after_{table.name}"]).fetchone()
    if not dangling:
        return
    ids = ", ".join(map(str, first)) + (", ..." if dangling > len(first) else "")
    if table.name == "hired_employees":
        message = (
            f"Restoring {staged.backup} would add {dangling} hires whose department or "
            f"job does not exist (ids {ids}); restore departments and jobs first."
        )
    else:
        message = (
            f"Restoring {staged.backup} would leave {dangling} hires pointing at "
            f"{table.name} that the backup does not have (hire ids {ids}); change or "
            "remove those hires first."
        )
    raise BackupError(409, message)


def _merge(conn, steps: dict, staged: list[_Staged]) -> None:
    """Parents' updates and inserts, then each table's deletes children first (see the
    module docstring): one table alone is simply deleted, updated and inserted."""
    for s in staged:
        if s.table.name != "hired_employees":
            _upsert(conn, steps[s.table.name], s)
    for s in reversed(staged):
        s.deleted = conn.execute(steps[s.table.name]["delete_absent"]).rowcount
        if s.table.name == "hired_employees":
            _upsert(conn, steps[s.table.name], s)


def _upsert(conn, steps: dict, s: _Staged) -> None:
    s.updated = conn.execute(steps["update_changed"]).rowcount
    s.inserted = conn.execute(steps["insert_missing"]).rowcount


def _diagnosis(exc: psycopg.Error) -> str:
    detail = exc.diag.message_detail or exc.diag.message_primary or type(exc).__name__
    return detail.splitlines()[0]

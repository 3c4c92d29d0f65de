"""Loading rows into a table: row check, COPY into staging, set-based merge, load report.

One load is one transaction:

1. the load is put on record in `loads`: a CSV load first, committed on its own (a load that
   dies is still listed, then marked failed); a JSON batch that goes straight into its table
   in the same transaction as its rows (it takes milliseconds, and one commit instead of two
   made batches 1.07x faster), so a batch is on record once it committed, or failed;
2. every input row has been checked against the table's schema (row_check); valid rows stream
   with COPY into the session's staging table for that table, rejected ones into
   `load_rejects`;
3. set-based SQL (sql/ingest/) moves more rejects to `load_rejects` (ids repeated in the load,
   missing departments or jobs), inserts the rows whose id is new, then drops rows stored
   already with the same values and rejects (or, when asked, updates) the other ones;
4. the load's record is completed with its counts, in the same transaction as its data.

Hires are checked against departments and jobs set-based, with the parents locked, and then
inserted without the per-row foreign-key probes when the database role may skip them (see
sql/ingest/skip_key_checks.sql for why that is safe); otherwise the probes run as usual.
A CSV load into an empty hired_employees (the migration's first load), and a JSON batch of
hires, skip staging (see direct_load); an input that repeats an id, or one stored already,
starts over through staging.

If anything fails, the transaction rolls back: none of the load's rows, rejects or counts are
stored, and the load is marked failed.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from itertools import chain

import psycopg
from psycopg import sql

from hrapi.csv_source import JsonInput
from hrapi.db import Database, DatabaseUnavailable
from hrapi.direct_load import DIRECT_TABLES, DirectLoads
from hrapi.reject_spool import RejectSpool
from hrapi.row_check import Rejected, RowChecker
from hrapi.sql_files import compose_per_table, load_group
from hrapi.tables import Table

log = logging.getLogger(__name__)
reject_log = logging.getLogger("hrapi.rejects")

REPORT_REJECTS = 100  # rejects listed in a load report; all of them are in load_rejects
LOG_RAW_CHARS = 200  # of a reject's raw text, in its log line
MERGE_ATTEMPTS = 3  # a merge that meets one of these is retried from its staged rows:
MERGE_RETRIED = (
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
    psycopg.errors.UniqueViolation,  # an id a batch inserted meanwhile (see direct_load)
)
FOLD_AFTER_ROWS = 50_000  # hires a process writes between folds of the logged hire counts
LARGE_LOAD_ROWS = 10_000  # staged rows from which a load analyzes them first, and merges
# stored ids before inserting (smaller loads insert at once, hoping their ids are new)
INGEST_STEPS = (
    "tune_session",
    "create_stage",
    "copy_stage",
    "copy_rejects",
    "lock_load",
    "rejects_without_raw",
    "fill_reject_raws",
    "analyze_stage",
    "lock_target",
    "lock_target_writes",
    "lock_parents",
    "may_skip_key_checks",
    "skip_key_checks",
    "check_keys_per_row",
    "reject_duplicates",
    "reject_missing_references",
    "insert_new",
    "drop_unchanged",
    "reject_conflicts",
    "update_conflicts",
    "target_is_empty",
    "parent_ids",
    "copy_hire_counts",
    "pause_hire_counts",
    "resume_hire_counts",
    "copy_target",
    "copy_batch",
    "allow_parallel",
    "count_loaded_hires",
    "disallow_parallel",
    "fold_hire_counts_lock",
    "fold_hire_counts",
)
LOAD_QUERIES = (
    "create_load",
    "complete_load",
    "fail_load",
    "fail_orphaned_loads",
    "list_rejects",
    "get_load",
    "list_loads",
)


class EmptyInput(ValueError):
    """The input holds no rows at all."""


@dataclass
class LoadReport:
    """What a load did; `received == inserted + updated + unchanged + rejected`."""

    load_id: int
    table: str
    status: str
    source: str
    received: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects: list[dict] = field(default_factory=list)
    duration_ms: int = 0

    def as_dict(self) -> dict:
        """The fields as a dict (shallow: dataclasses.asdict deep-copies, measurably slower)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Ingestor:
    """Runs loads. Built once per app: the SQL is read and composed at start-up."""

    def __init__(self, database: Database, sql_dir):
        self.database = database
        self.steps = compose_per_table(
            load_group(sql_dir, "ingest", required=INGEST_STEPS), stage_prefix="hrapi_load_"
        )
        self.loads_sql = load_group(sql_dir, "loads", required=LOAD_QUERIES)
        self._may_skip: bool | None = None  # asked of the database once (see may_skip_key_checks)
        self._written_since_fold = 0  # hires written by this process since it last folded
        self.direct = DirectLoads(self)

    def load(
        self,
        table: Table,
        data,
        *,
        source: str,
        filename: str | None = None,
        on_conflict: str = "reject",
    ) -> LoadReport:
        """Load an input (csv_source.CsvInput or JsonInput) into table in one transaction.

        Raises EmptyInput (before anything is recorded) when there are no rows, and
        DatabaseUnavailable when the database goes away (nothing of the load is kept).
        """
        checker = RowChecker(table)
        records = iter(data.records(checker))
        first = next(records, None)
        if first is None:
            raise EmptyInput("no rows to load")
        records = chain([first], records)
        started = time.perf_counter()
        load_fields = {"table": table.name, "source": source, "filename": filename,
                       "on_conflict": on_conflict}  # fmt: skip
        with self.database.connection() as conn:
            report = LoadReport(load_id=0, table=table.name, status="running", source=source)
            if source == "csv":  # on record while it runs (see the module docstring)
                report.load_id = self._create_load(conn, load_fields)
            try:
                raw_of = data.raw_of if isinstance(data, JsonInput) else None
                direct = self._load_directly(conn, table, data, records, report,
                                             checker=checker, started=started,
                                             load_fields=load_fields)  # fmt: skip
                if not direct:
                    if not report.load_id:  # a batch's record went with its rolled-back attempt
                        report.load_id = self._create_load(conn, load_fields)
                    if report.received:  # the direct way started, then gave way
                        report = LoadReport(report.load_id, table.name, "running", source)
                        records = data.records(RowChecker(table))
                    with conn.transaction():
                        self._run(
                            conn, table, records, report, on_conflict=on_conflict,
                            started=started, raw_of=raw_of,
                        )  # fmt: skip
            except BaseException as exc:
                report.duration_ms = _ms_since(started)
                self._mark_failed(conn, report, exc, load_fields)
                raise
            if table.name == "hired_employees":
                self._fold_hire_counts_now_and_then(conn, report.inserted + report.updated)
        log.info(
            "load load_id=%s table=%s status=%s received=%s inserted=%s updated=%s "
            "unchanged=%s rejected=%s ms=%s",
            report.load_id, report.table, report.status, report.received, report.inserted,
            report.updated, report.unchanged, report.rejected, report.duration_ms,
        )  # fmt: skip
        for reject in report.rejects:
            shown = {**reject, "raw": reject["raw"][:LOG_RAW_CHARS]}
            reject_log.info("reject load_id=%s %s", report.load_id, json.dumps(shown))
        if report.rejected > len(report.rejects):
            reject_log.info(
                "reject load_id=%s and %s more: GET /api/v1/loads/%s/rejects",
                report.load_id, report.rejected - len(report.rejects), report.load_id,
            )  # fmt: skip
        return report

    def _run(
        self, conn, table, records, report: LoadReport, *, on_conflict: str, started, raw_of,
    ) -> None:  # fmt: skip
        """Load through staging. raw_of(position) gives the raw text of a row staged without
        it (JSON rows, see RowChecker.json_record), for the rejects the set-based steps make."""
        steps = self.steps[table.name]
        params = {
            "load_id": report.load_id,
            "table": table.name,
            "position": "line" if report.source == "csv" else "index",
        }
        conn.execute(steps["tune_session"])
        conn.execute(steps["create_stage"])
        rejects = RejectSpool(report.load_id)
        with conn.cursor().copy(steps["copy_stage"]) as copy:
            for record in records:
                report.received += 1
                if type(record) is Rejected:
                    rejects.add(record)
                else:
                    copy.write_row(record)
        checked_out = self.store_rejects(conn, steps, rejects, report.load_id)
        staged = report.received - checked_out
        analyzed = staged >= LARGE_LOAD_ROWS
        if analyzed:
            conn.execute(steps["analyze_stage"])
        for attempt in range(1, MERGE_ATTEMPTS + 1):
            try:
                with conn.transaction():  # a savepoint: a retry starts from the staged rows
                    self._merge(conn, table, report, params=params, on_conflict=on_conflict,
                                staged=staged, analyzed=analyzed,
                                checked_out=checked_out)  # fmt: skip
                break
            except MERGE_RETRIED as exc:
                if attempt == MERGE_ATTEMPTS:
                    raise
                log.warning("load load_id=%s merge attempt %s: %s; retrying",
                            report.load_id, attempt, type(exc).__name__)  # fmt: skip
                time.sleep(0.05 * attempt)
        if raw_of is not None and report.rejected > checked_out:
            lines = [line for (line,) in conn.execute(steps["rejects_without_raw"], params)]
            if lines:
                raws = [raw_of(line) for line in lines]
                conn.execute(steps["fill_reject_raws"], {**params, "lines": lines, "raws": raws})
        self._finish(conn, report, started)

    def _finish(self, conn, report: LoadReport, started: float) -> None:
        """Complete the load's record (in its transaction) and list its first rejects."""
        report.status = "completed"
        report.duration_ms = _ms_since(started)
        conn.execute(self.loads_sql["complete_load"], report.as_dict())
        if not report.rejected:
            return
        position = "line" if report.source == "csv" else "index"
        report.rejects = [
            {position: line, "raw": raw, "reasons": reasons}
            for line, raw, reasons in conn.execute(
                self.loads_sql["list_rejects"],
                {"load_id": report.load_id, "after": -1, "limit": REPORT_REJECTS},
            )
        ]

    def _fold_hire_counts_now_and_then(self, conn, written: int) -> None:
        """Fold the hire counts the triggers logged once this process has written enough
        hires since it last did (see sql/schema/004_hire_count_changes.sql), after the load
        committed: the log stays short for the insights, and folds are many loads apart."""
        self._written_since_fold += written
        if self._written_since_fold < FOLD_AFTER_ROWS:
            return
        self._written_since_fold = 0
        steps = self.steps["hired_employees"]
        try:
            with conn.transaction():
                if conn.execute(steps["fold_hire_counts_lock"]).fetchone()[0]:
                    conn.execute(steps["fold_hire_counts"])
        except psycopg.Error as exc:  # the load stands; the next fold takes these changes too
            log.warning("could not fold the hire counts now: %s", type(exc).__name__)

    def _may_skip_key_checks(self, conn) -> bool:
        """Whether the role may skip per-row key checks (sql/ingest/may_skip_key_checks.sql)."""
        if self._may_skip is None:
            with conn.transaction():  # leaves no transaction open
                self._may_skip = conn.info.server_version >= 150000 and bool(
                    conn.execute(self.steps["hired_employees"]["may_skip_key_checks"]).fetchone()[0]
                )
            if not self._may_skip:
                log.warning(
                    "the database role may not skip per-row foreign-key checks: hires load "
                    "several times slower (see sql/ingest/may_skip_key_checks.sql)"
                )
        return self._may_skip

    @contextmanager
    def _key_probes_skipped(self, conn, steps, skip: bool):
        """The statements inside run without per-row key probes if skip (see
        sql/ingest/skip_key_checks.sql); if they fail, the rollback restores the probes."""
        if skip:
            conn.execute(steps["skip_key_checks"])
        yield
        if skip:
            conn.execute(steps["check_keys_per_row"])

    def _insert_new(self, conn, steps, set_based: bool) -> int:
        """Insert what is left in staging; returns how many rows."""
        with self._key_probes_skipped(conn, steps, set_based):
            return conn.execute(steps["insert_new"]).rowcount

    def store_rejects(self, conn, steps, rejects: RejectSpool, load_id: int) -> int:
        """COPY the spooled rejects into load_rejects (without a key check per row where the
        role may skip them, the load's record locked instead); returns how many."""
        if not rejects.count:
            rejects.close()
            return 0
        skip = self._may_skip_key_checks(conn)
        if skip:
            conn.execute(steps["lock_load"], {"load_id": load_id})
        with self._key_probes_skipped(conn, steps, skip):
            rejects.copy_into(conn, steps["copy_rejects"])
        return rejects.count

    def _load_directly(
        self, conn, table, data, records, report, *, checker, started, load_fields: dict
    ) -> bool:
        """Load straight into the table where that may be done (see direct_load), in a
        transaction of its own: True if done; False if it gave way, none of its rows kept, and
        the caller loads through staging. A batch is put on record (load_fields) in this
        transaction, with its rows: when the attempt rolls back, so does the record, and
        report.load_id is 0 again (a batch that gave way before writing keeps its record)."""
        if table.name not in DIRECT_TABLES or not self._may_skip_key_checks(conn):
            return False
        recorded_here = not report.load_id
        try:
            with conn.transaction():
                if recorded_here:
                    report.load_id = self._record(conn, load_fields)
                if report.source == "csv":
                    done = self.direct.empty_table(conn, table, records, checker, report)
                else:
                    done = self.direct.batch(conn, table, data, checker, report)
                if done:
                    self._finish(conn, report, started)
            return done
        except (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected) as exc:
            log.info("load load_id=%s: %s; loading through staging", report.load_id,
                     type(exc).__name__)  # fmt: skip
            if recorded_here:
                report.load_id = 0  # the record was rolled back with the attempt
            return False
        except BaseException:
            if recorded_here:
                report.load_id = 0  # the same (the caller records the failure)
            raise

    def together(self, conn, steps, *names: str):
        """Run steps without parameters in one round trip; a cursor on the last one's rows."""
        cursor = conn.execute(sql.SQL(";\n").join(steps[name] for name in names))
        while cursor.nextset():
            pass
        return cursor

    def _merge(
        self, conn, table, report: LoadReport, *, params: dict, on_conflict: str, staged: int,
        analyzed: bool, checked_out: int,
    ) -> None:  # fmt: skip
        """Staged rows into the table, set-based; fills the report's counts (checked_out:
        the rows the row check rejected, stored already)."""
        steps = self.steps[table.name]

        def run(step: str) -> int:
            return conn.execute(steps[step], params).rowcount

        hires = table.name == "hired_employees"
        set_based = hires and self._may_skip_key_checks(conn)
        run("lock_target")
        if set_based:
            run("lock_parents")
        report.rejected = run("reject_duplicates")
        if hires:
            report.rejected += run("reject_missing_references")
        staged -= report.rejected
        report.rejected += checked_out
        report.unchanged = report.updated = 0
        if staged < LARGE_LOAD_ROWS:  # small loads hope their ids are new
            try:
                with conn.transaction():
                    report.inserted = self._insert_new(conn, steps, set_based)
                staged = 0
            except psycopg.errors.UniqueViolation:
                pass  # some ids are stored already: handle them first
        if staged:
            if not analyzed:
                run("analyze_stage")
            report.unchanged = run("drop_unchanged")
            if on_conflict == "update":
                report.updated = run("update_conflicts")
            else:
                report.rejected += run("reject_conflicts")
            report.inserted = self._insert_new(conn, steps, set_based)
        accounted = report.inserted + report.updated + report.unchanged + report.rejected
        if accounted != report.received:
            raise RuntimeError(f"load {report.load_id}: {report.received} rows in, {accounted} out")

    def _create_load(self, conn, load_fields: dict) -> int:
        """Put a load on record, committed on its own; its id."""
        with conn.pipeline():  # one round trip
            created = conn.execute(self.loads_sql["create_load"], load_fields)
            conn.commit()
        return created.fetchone()[0]

    def _record(self, conn, load_fields: dict) -> int:
        """Put a load on record in the transaction under way; its id."""
        return conn.execute(self.loads_sql["create_load"], load_fields).fetchone()[0]

    def _mark_failed(self, conn, report: LoadReport, exc: BaseException, load_fields: dict) -> None:
        """Record the failure if the database still answers (a batch whose record was rolled
        back with its rows is put on record now); else the next load's sweep will mark a
        recorded load failed, and a batch is not on record at all: its client got the error
        and nothing of it was stored."""
        error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.warning("load load_id=%s table=%s status=failed error=%s", report.load_id or None,
                    report.table, error)  # fmt: skip
        try:
            with conn.transaction():
                load_id = report.load_id or self._record(conn, load_fields)
                conn.execute(
                    self.loads_sql["fail_load"],
                    {"load_id": load_id, "error": error, "duration_ms": report.duration_ms},
                )
            report.load_id = load_id
        except (psycopg.Error, DatabaseUnavailable):
            if report.load_id:
                log.warning("could not mark load %s failed now; it will be swept", report.load_id)
            else:
                log.warning("could not put the failed %s batch on record; nothing of it was "
                            "stored", report.table)  # fmt: skip


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)

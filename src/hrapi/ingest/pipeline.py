"""One load, from its input to its report: the orchestrator every way of loading shares.

Single and multi-file CSV uploads, JSON batches and `hrapi seed` call `Ingestor.load`. A load
is one transaction:

1. it is put on record in `loads` (records): a CSV load first, committed on its own (listed
   as running while it runs, with the rows read so far: see heartbeat; a load that dies is
   marked failed), a JSON batch in its own transaction (one that goes straight into its table
   once its rows are in, complete: the fewer statements, the faster a batch);
2. its records are checked a chunk at a time (check.RowCheck) and loaded by one strategy
   (strategies): straight into the table for a CSV of hires whose ids may be new, straight in
   for a batch of hires, or through staging and set-based SQL; a direct strategy that meets
   a repeated or stored id is rolled back and the load starts over through staging, reading
   its input again;
3. the load's record is completed with its counts (a direct batch's is written complete), in
   the same transaction as its data;
4. now and then, once it has committed, the hire counts its triggers logged are folded into
   the summary (after the API's response is sent); after a first load of hires, which does
   not count them as it goes, the summary is rebuilt from the table.

If anything fails, the transaction rolls back: none of the load's rows, rejects or counts are
stored, and the load is marked failed.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext

import psycopg
from psycopg.types.json import Jsonb

from hrapi import metrics
from hrapi.db import Database
from hrapi.ingest import strategies
from hrapi.ingest.heartbeat import Heartbeat
from hrapi.ingest.hire_counts import HireCounts
from hrapi.ingest.records import LoadRecords
from hrapi.ingest.rejects import RejectSpool
from hrapi.ingest.report import LoadReport, log_report
from hrapi.ingest.session import LoadSession, may_skip_key_checks
from hrapi.ingest.sources import CsvOptions
from hrapi.ingest.strategies import Limits
from hrapi.sql_files import add_table_queries, compose_per_table, load_group
from hrapi.tables import Table

log = logging.getLogger(__name__)

NO_LIMITS = Limits()
FOLD_AFTER_ROWS = 50_000  # hires a process writes between folds of the logged hire counts
INGEST_STEPS = (
    "tune_session", "create_stage", "copy_stage", "copy_rejects", "lock_load",
    "create_set_rejects", "lines_of_set_rejects", "copy_reject_raws", "store_set_rejects",
    "analyze_stage", "lock_target",
    "lock_target_writes", "lock_parents", "may_skip_key_checks", "skip_key_checks",
    "check_keys_per_row", "reject_duplicates", "reject_missing_references", "insert_new",
    "drop_unchanged", "reject_conflicts", "update_conflicts", "parent_ids",
    "copy_target", "copy_batch", "fold_hire_counts_lock", "fold_hire_counts",
    "stage_overlaps_target", "count_stage", "count_conflicts", "id_stored",
    "drop_primary_key", "add_primary_key", "vacuum_hire_counts", "wait_for_target",
    "pause_hire_counts", "resume_hire_counts", "mark_hire_counts_stale", "hire_counts_stale",
    "fold_hire_counts_wait", "rebuild_hire_counts",
)  # fmt: skip
LOAD_QUERIES = (
    "create_load", "record_batch", "complete_load", "fail_load", "fail_orphaned_loads",
    "list_rejects", "get_load", "list_loads", "report_rejects", "count_errors", "beat",
    "own_backend",
)  # fmt: skip


class EmptyInput(ValueError):
    """The input holds no rows at all."""


class LoadAborted(Exception):
    """A load passed a reject limit: nothing of it was kept but its record and rejects."""

    def __init__(self, report: LoadReport):
        super().__init__(f"load {report.load_id} passed its reject limit")
        self.report = report


class Ingestor:
    """Runs loads. Built once per app: the SQL is read and composed at start-up."""

    def __init__(self, database: Database, sql_dir):
        self.database = database
        self.steps = compose_per_table(
            load_group(sql_dir, "ingest", required=INGEST_STEPS), stage_prefix="hrapi_load_"
        )
        add_table_queries(self.steps, sql_dir, ("table_is_empty",))  # shared with restores
        self.loads_sql = load_group(sql_dir, "loads", required=LOAD_QUERIES)
        self.records = LoadRecords(database, self.loads_sql)
        self._may_skip: bool | None = None  # asked of the database once (see may_skip_key_checks)
        self._written_since_fold = 0  # hires written by this process since it last folded
        self.hire_counts = HireCounts(database, self.steps["hired_employees"])

    def load(self, table: Table, data, *, filename: str | None = None,
             limits: Limits = NO_LIMITS, request_id: str | None = None,
             after_response: Callable[[Callable[[], None]], None] | None = None,
             ) -> LoadReport:  # fmt: skip
        """Load an input (a CsvInput or a JsonInput) into table in one transaction.

        after_response: where the load may hand housekeeping that need not delay its caller
        (the API runs it once the response is sent); without it, it runs before this returns.
        Raises EmptyInput (before anything is recorded) when there are no rows,
        sources.SourceError when the input cannot be read as asked, LoadAborted when a reject
        limit was passed, and DatabaseUnavailable when the database goes away (nothing of the
        load is kept).
        """
        if next(data.chunks(), None) is None:  # a first reading: the header and a row
            raise EmptyInput("no rows to load")
        started = time.perf_counter()
        options = {**vars(getattr(data, "options", CsvOptions())), **vars(limits)}
        if data.source == "json":
            options = vars(limits)
        load_fields = {"table": table.name, "source": data.source, "filename": filename,
                       "on_conflict": limits.on_conflict, "options": Jsonb(options),
                       "request_id": request_id}  # fmt: skip
        report = LoadReport(load_id=0, table=table.name, status="running", source=data.source)
        may_skip = self._may_skip_key_checks()
        direct = table.name in strategies.DIRECT_TABLES and not limits.careful and may_skip
        done = stale = False
        with _collector_paused():
            on_record = (report, load_fields, started)  # to mark the load failed with
            if data.source == "json" and direct:  # straight in, or else through staging
                with self._connection(*on_record, skipping_key_checks=True) as conn:
                    done = self._batch_directly(
                        conn, table, data, report, load_fields=load_fields, started=started
                    )
            if not done:
                with self._connection(*on_record) as conn:
                    stale = self._load_on_record(
                        conn, table, data, report, load_fields=load_fields, started=started,
                        limits=limits, may_skip=may_skip, direct=direct and data.source == "csv",
                    )  # fmt: skip
        due = table.name == "hired_employees" and self._fold_due(report.inserted + report.updated)
        if due or stale:
            (after_response or _now)(self.fold_hire_counts)
        log_report(report)
        metrics.count_load(report)
        if report.status == "aborted":
            raise LoadAborted(report)
        return report

    @contextmanager
    def _connection(self, report: LoadReport, load_fields: dict, started: float, *,
                    skipping_key_checks: bool = False):  # fmt: skip
        """A connection for the load (see db.Database.connection); the load is marked failed
        on it (records.mark_failed) if it fails inside."""
        with self.database.connection(skipping_key_checks=skipping_key_checks) as conn:
            try:
                yield conn
            except BaseException as exc:
                report.duration_ms = _ms_since(started)
                self.records.mark_failed(conn, report, exc, load_fields)
                raise

    def _load_on_record(self, conn, table: Table, data, report: LoadReport, *,
                        load_fields: dict, started: float, limits: Limits, may_skip: bool,
                        direct: bool) -> bool:  # fmt: skip
        """The load put on record first (a CSV's committed on its own and beating while it
        runs), then its rows by the strategy that fits and its record completed, in one
        transaction. direct: a CSV of hires may try straight into the table. True if the load
        left the hire counts summary to be rebuilt (a first load of hires)."""
        if data.source == "csv":
            report.load_id = self.records.create(conn, load_fields)
            beating = Heartbeat(self.database, self.loads_sql["beat"], report)
        else:
            beating = nullcontext()
        with beating, conn.transaction():
            if data.source == "csv":
                beating.backend_pid = conn.execute(self.loads_sql["own_backend"]).fetchone()[0]
            if not report.load_id:
                report.load_id = self.records.record(conn, load_fields)
            session = LoadSession(conn, self.steps[table.name], may_skip, report.load_id)
            self._run(session, table, data, report, limits=limits, direct=direct)
            report.duration_ms = _ms_since(started)
            self.records.complete(conn, report)
        return session.hire_counts_stale

    def _batch_directly(self, conn, table: Table, data, report: LoadReport, *,
                        load_fields: dict, started: float) -> bool:  # fmt: skip
        """A JSON batch of hires straight into its table (strategies.batch_directly), in a
        transaction that puts it on record, complete, once its rows are in (record_batch.sql;
        no savepoint, no record to update): True if it went; False, nothing of it written, when
        it must go through staging (an id stored already or repeated, or too many parents).
        Raises db.TableBusy when a load held the table for 3 s."""
        done = False
        try:
            with conn.transaction():
                session = LoadSession(conn, self.steps[table.name], may_skip=True, load_id=0,
                                      skipping=self.database.skips_key_checks(conn))  # fmt: skip
                rejects = strategies.batch_directly(session, table, next(data.chunks()), report)
                if rejects is None:
                    raise psycopg.Rollback
                report.status = "completed"
                report.duration_ms = _ms_since(started)
                report.load_id = self.records.record_done(conn, load_fields, report)
                session.load_id = report.load_id
                if rejects:
                    with RejectSpool(report.load_id) as spool:
                        spool.extend(rejects)
                        session.store_rejects(spool, probes_skipped=True)
                    self.records.list_rejects(conn, report)
                done = True
        except (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected) as exc:
            log.info("a batch of %s: %s; loading through staging", table.name,
                     type(exc).__name__)  # fmt: skip
        if not done:
            report.restart()
            report.status, report.load_id = "running", 0
        return done

    def _run(self, session, table: Table, data, report: LoadReport, *, limits: Limits,
             direct: bool) -> None:  # fmt: skip
        """The load's rows into the table by the strategy that fits (see the docstring); each
        strategy reads the input from its start."""
        if direct:
            try:
                with session.conn.transaction():
                    if strategies.into_table(session, table, data, report):
                        return
            except (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected,
                    strategies.StoredId) as exc:  # fmt: skip
                log.info("load load_id=%s: %s; loading through staging", report.load_id,
                         type(exc).__name__)  # fmt: skip
            session.hire_counts_stale = False  # rolled back with the rest of the attempt
            report.restart()
        with RejectSpool(report.load_id) as spool:
            strategies.through_staging(session, table, data, report, spool, limits=limits)

    def _fold_due(self, written: int) -> bool:
        """Whether this process has written enough hires since it last folded the hire counts
        the triggers logged (see sql/schema/004_hire_count_changes.sql): the log stays short
        for the insights, and folds are many loads apart."""
        self._written_since_fold += written
        if self._written_since_fold < FOLD_AFTER_ROWS:
            return False
        self._written_since_fold = 0
        return True

    def fold_hire_counts(self) -> None:
        """Fold the logged hire counts, or rebuild a stale summary (hire_counts.HireCounts)."""
        self.hire_counts.fold()

    def _may_skip_key_checks(self) -> bool:
        """Whether the role may skip per-row key checks (sql/ingest/may_skip_key_checks.sql),
        asked of the database by a process's first load."""
        if self._may_skip is None:
            with self.database.connection() as conn:
                self._may_skip = may_skip_key_checks(
                    conn, self.steps["hired_employees"]["may_skip_key_checks"]
                )
            if not self._may_skip:
                log.warning(
                    "the database role may not skip per-row foreign-key checks: hires load "
                    "several times slower (see sql/ingest/may_skip_key_checks.sql)"
                )
        return self._may_skip


@contextmanager
def _collector_paused():
    """Pause Python's cyclic garbage collector while a load runs. A load makes lists and
    tuples by the million (rows, columns), none of them in a cycle: the collector would
    traverse each chunk's rows again and again while they live, for nothing (about a third
    of a load's Python time, see docs/performance.md). Reference counting frees them as
    before; any cycle made meanwhile is collected after."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _now(work: Callable[[], None]) -> None:
    work()


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)

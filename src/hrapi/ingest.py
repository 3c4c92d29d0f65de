"""Loading rows into a table: row check, COPY into staging, set-based merge, load report.

One load is one transaction:

1. the load is put on record in `loads` (committed on its own, so a load that dies is still
   listed, then marked failed);
2. every input row has been checked against the table's schema (row_check); valid rows stream
   with COPY into a temporary staging table, rejected ones into `load_rejects`;
3. set-based SQL (sql/ingest/) moves more rejects to `load_rejects` (ids repeated in the load,
   missing departments or jobs, conflicts), drops rows stored already with the same values,
   updates conflicts when asked, and inserts the rest (large hire loads set the foreign keys
   aside meanwhile and re-add them, see _foreign_keys_set_aside);
4. the load's record is completed with its counts, in the same transaction as its data.

An empty hired_employees (the migration's first load) skips staging: rows COPY straight into
the table (see _direct), and an input that repeats an id starts over through staging.

If anything fails, the transaction rolls back: none of the load's rows, rejects or counts are
stored, and the load is marked failed.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from itertools import chain

import psycopg
from psycopg import sql

from hrapi.csv_source import Block
from hrapi.db import Database, DatabaseUnavailable
from hrapi.row_check import HireBlockCheck, Rejected, RowChecker
from hrapi.sql_files import compose_for_table, compose_per_table, load_group
from hrapi.tables import Table

log = logging.getLogger(__name__)
reject_log = logging.getLogger("hrapi.rejects")

REPORT_REJECTS = 100  # rejects listed in a load report; all of them are in load_rejects
LOG_RAW_CHARS = 200  # of a reject's raw text, in its log line
MERGE_ATTEMPTS = 3  # a merge that meets a deadlock or serialization failure is retried
REJECT_SPOOL_BYTES = 1 << 20  # rejected rows kept in memory up to this, then on disk
BULK_ROWS = 50_000  # hire loads this large set the foreign keys aside while inserting
DIRECT_TABLES = ("hired_employees",)  # loaded straight into the table when it is empty
MISSING_PARENT = {  # worded as sql/ingest/reject_missing_references.sql words them
    "department_id": "department_id: department {value} does not exist",
    "job_id": "job_id: job {value} does not exist",
}
INGEST_STEPS = (
    "tune_session",
    "create_stage",
    "copy_stage",
    "copy_rejects",
    "analyze_stage",
    "lock_target",
    "lock_parents",
    "foreign_keys",
    "reject_duplicates",
    "reject_missing_references",
    "drop_unchanged",
    "reject_conflicts",
    "update_conflicts",
    "insert_new",
    "target_is_empty",
    "department_ids",
    "job_ids",
    "copy_target",
    "analyze_target",
    "pause_hire_counts",
    "resume_hire_counts",
    "create_counts_stage",
    "copy_counts_stage",
    "add_counts",
)
FOREIGN_KEY_STEPS = ("drop_foreign_key", "add_foreign_key")  # composed per constraint
LOAD_QUERIES = (
    "create_load",
    "complete_load",
    "fail_load",
    "fail_orphaned_loads",
    "count_rejects",
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
        return asdict(self)


class Ingestor:
    """Runs loads. Built once per app: the SQL is read and composed at start-up."""

    def __init__(self, database: Database, sql_dir):
        self.database = database
        templates = load_group(sql_dir, "ingest", required=INGEST_STEPS + FOREIGN_KEY_STEPS)
        self.foreign_key_sql = {name: templates.pop(name) for name in FOREIGN_KEY_STEPS}
        self.steps = compose_per_table(templates)
        self.loads_sql = load_group(sql_dir, "loads", required=LOAD_QUERIES)

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
        with self.database.connection() as conn:
            conn.execute(self.loads_sql["fail_orphaned_loads"])
            load_id = conn.execute(
                self.loads_sql["create_load"],
                {
                    "table": table.name,
                    "source": source,
                    "filename": filename,
                    "on_conflict": on_conflict,
                },
            ).fetchone()[0]
            conn.commit()
            report = LoadReport(load_id=load_id, table=table.name, status="running", source=source)
            try:
                with conn.transaction():
                    direct = table.name in DIRECT_TABLES
                    if direct and self._direct(conn, table, records, checker, report):
                        self._finish(conn, report, started)
                    else:
                        if report.received:  # the direct way started, then gave way
                            report = LoadReport(load_id, table.name, "running", source)
                            records = data.records(RowChecker(table))
                        self._run(
                            conn, table, records, report, on_conflict=on_conflict,
                            started=started,
                        )  # fmt: skip
            except BaseException as exc:
                report.duration_ms = _ms_since(started)
                self._mark_failed(conn, report, exc)
                raise
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

    def _run(self, conn, table, records, report: LoadReport, *, on_conflict: str, started) -> None:
        steps = self.steps[table.name]
        params = {
            "load_id": report.load_id,
            "table": table.name,
            "position": "line" if report.source == "csv" else "index",
        }
        conn.execute(steps["tune_session"])
        conn.execute(steps["create_stage"])
        rejects = _RejectSpool()
        with conn.cursor().copy(steps["copy_stage"]) as copy:
            for record in records:
                report.received += 1
                if type(record) is Rejected:
                    rejects.add(record)
                else:
                    copy.write_row(record)
        rejects.copy_into(conn, steps["copy_rejects"], report.load_id)
        conn.execute(steps["analyze_stage"])
        for attempt in range(1, MERGE_ATTEMPTS + 1):
            try:
                with conn.transaction():  # a savepoint: a retry starts from the staged rows
                    self._merge(conn, table, report, params=params, on_conflict=on_conflict)
                break
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if attempt == MERGE_ATTEMPTS:
                    raise
                log.warning("load load_id=%s merge attempt %s hit a deadlock; retrying",
                            report.load_id, attempt)  # fmt: skip
                time.sleep(0.05 * attempt)
        self._finish(conn, report, started)

    def _finish(self, conn, report: LoadReport, started: float) -> None:
        """Complete the load's record (in its transaction) and list its first rejects."""
        report.status = "completed"
        report.duration_ms = _ms_since(started)
        conn.execute(self.loads_sql["complete_load"], asdict(report))
        position = "line" if report.source == "csv" else "index"
        report.rejects = [
            {position: line, "raw": raw, "reasons": reasons}
            for line, raw, reasons in conn.execute(
                self.loads_sql["list_rejects"],
                {"load_id": report.load_id, "after": -1, "limit": REPORT_REJECTS},
            )
        ]

    def _direct(self, conn, table: Table, records, checker, report: LoadReport) -> bool:
        """Load an empty table straight from the stream, with no staging: True if done.

        When the table is empty there is nothing to be unchanged or in conflict with, and
        departments and jobs are few: with the parents locked, missing references are found
        in Python, and rows COPY straight into the table with its foreign keys set aside (see
        _foreign_keys_set_aside). An id repeated in the input makes the primary key refuse the
        COPY; then nothing of this attempt is kept and the caller loads through staging,
        which words that reject.
        """
        steps = self.steps[table.name]
        params = {"load_id": report.load_id, "table": table.name}
        conn.execute(steps["tune_session"])
        conn.execute(steps["lock_target"], params)
        if not conn.execute(steps["target_is_empty"]).fetchone()[0]:
            return False
        conn.execute(steps["lock_parents"])
        parents = {
            column: _either_form(conn.execute(steps[query]).fetchall())
            for column, query in (("department_id", "department_ids"), ("job_id", "job_ids"))
        }
        department_at = 2 + table.columns.index("department_id")  # in a staging record
        job_at = 2 + table.columns.index("job_id")
        datetime_at = 2 + table.columns.index("datetime")
        months: Counter = Counter()  # (UTC "YYYY-MM", department, job) -> hires
        departments, jobs = parents["department_id"], parents["job_id"]
        checker.block_check = HireBlockCheck(table, departments, jobs)
        try:
            with conn.transaction(), self._foreign_keys_set_aside(conn, table):
                conn.execute(steps["pause_hire_counts"])
                rejects = _RejectSpool()
                with conn.cursor().copy(steps["copy_target"]) as copy:
                    for record in records:
                        if type(record) is Block:
                            copy.write(record.copy_text)
                            months.update(record.months)
                            report.received += record.count
                            continue
                        report.received += 1
                        if type(record) is not Rejected:
                            department, job = record[department_at], record[job_at]
                            if department in departments and job in jobs:
                                copy.write_row(record[2:])
                                when = record[datetime_at]
                                key = (when[:7] if type(when) is str else _month(when),
                                       department, job)  # fmt: skip
                                months[key] += 1
                                continue
                            record = Rejected(  # noqa: PLW2901
                                record[0], record[1], _missing_parents(record, department_at,
                                                                       job_at, parents),
                            )  # fmt: skip
                        rejects.add(record)
                conn.execute(steps["resume_hire_counts"])
                self._add_counts(conn, steps, months)
                report.rejected = rejects.copy_into(conn, steps["copy_rejects"], report.load_id)
                report.inserted = report.received - report.rejected
        except psycopg.errors.UniqueViolation:
            log.info("load load_id=%s repeats an id; loading through staging", report.load_id)
            return False
        conn.execute(steps["analyze_target"])
        return True

    def _merge(self, conn, table, report: LoadReport, *, params: dict, on_conflict: str) -> None:
        """Staged rows into the table, set-based; fills the report's counts."""
        steps = self.steps[table.name]

        def run(step: str) -> int:
            return conn.execute(steps[step], params).rowcount

        bulk = report.received >= BULK_ROWS and table.name == "hired_employees"
        run("lock_target")
        if bulk:
            run("lock_parents")
        run("reject_duplicates")
        if table.name == "hired_employees":
            run("reject_missing_references")
        report.unchanged = run("drop_unchanged")
        report.updated = run("update_conflicts") if on_conflict == "update" else 0
        if on_conflict != "update":
            run("reject_conflicts")
        if bulk:
            with self._foreign_keys_set_aside(conn, table):
                report.inserted = run("insert_new")
        else:
            report.inserted = run("insert_new")
        report.rejected = conn.execute(self.loads_sql["count_rejects"], params).fetchone()[0]
        accounted = report.inserted + report.updated + report.unchanged + report.rejected
        if accounted != report.received:
            raise RuntimeError(f"load {report.load_id}: {report.received} rows in, {accounted} out")

    @staticmethod
    def _add_counts(conn, steps, months: Counter) -> None:
        """Add a direct load's hires per UTC year, quarter, department and job to hire_counts."""
        quarters: Counter = Counter()
        for (month, department, job), hires in months.items():
            year, month_number = int(month[:-3]), int(month[-2:])
            quarters[year, int(department), int(job), (month_number - 1) // 3 + 1] += hires
        conn.execute(steps["create_counts_stage"])
        with conn.cursor().copy(steps["copy_counts_stage"]) as copy:
            for key, hires in quarters.items():
                copy.write_row((*key, hires))
        conn.execute(steps["add_counts"])

    @contextmanager
    def _foreign_keys_set_aside(self, conn, table: Table):
        """Insert without per-row foreign-key probes, then re-add (and so re-check) the keys.

        Why this is safe: the parents are locked in SHARE mode (lock_parents) before missing
        references are rejected, so no concurrent writer can remove a parent the staged rows
        need; dropping a key locks the table against every other session until commit, so
        nobody ever sees it without its keys; and re-adding a key makes PostgreSQL validate
        every row. If anything fails, the transaction rolls back with the keys in place.
        """
        keys = conn.execute(self.steps[table.name]["foreign_keys"], {"table": table.name})
        keys = keys.fetchall()
        for name, _definition in keys:
            conn.execute(self._foreign_key_step("drop_foreign_key", table, name))
        yield
        for name, definition in keys:
            conn.execute(self._foreign_key_step("add_foreign_key", table, name, definition))

    def _foreign_key_step(self, step: str, table: Table, name: str, definition: str = ""):
        return compose_for_table(
            self.foreign_key_sql[step],
            table,
            constraint=sql.Identifier(name),
            definition=sql.SQL(definition),  # from pg_get_constraintdef, not from a request
        )

    def _mark_failed(self, conn, report: LoadReport, exc: BaseException) -> None:
        """Record the failure if the database still answers; else the next load's sweep will."""
        error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.warning("load load_id=%s table=%s status=failed error=%s", report.load_id,
                    report.table, error)  # fmt: skip
        try:
            with conn.transaction():
                conn.execute(
                    self.loads_sql["fail_load"],
                    {"load_id": report.load_id, "error": error,
                     "duration_ms": report.duration_ms},
                )  # fmt: skip
        except (psycopg.Error, DatabaseUnavailable):
            log.warning("could not mark load %s failed now; it will be swept", report.load_id)


class _RejectSpool:
    """Rejected rows wait here (in memory, then on disk) while the good ones stream by COPY:
    one connection runs one COPY at a time."""

    def __init__(self):
        self._file = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by copy_into
            max_size=REJECT_SPOOL_BYTES, mode="w+"
        )
        self.count = 0

    def add(self, reject: Rejected) -> None:
        self._file.write(json.dumps(reject) + "\n")
        self.count += 1

    def copy_into(self, conn, copy_sql, load_id: int) -> int:
        """COPY the spooled rejects into load_rejects; returns how many."""
        self._file.seek(0)
        with conn.cursor().copy(copy_sql) as copy:
            for line in self._file:
                position, raw, reasons = json.loads(line)
                copy.write_row((load_id, position, raw, json.dumps(reasons)))
        self._file.close()
        return self.count


def _missing_parents(record, department_at: int, job_at: int, parents: dict) -> list[str]:
    checks = (("department_id", department_at), ("job_id", job_at))
    return [
        MISSING_PARENT[column].format(value=record[at])
        for column, at in checks
        if record[at] not in parents[column]
    ]


def _month(instant) -> str:
    """'YYYY-MM' of a UTC datetime from the schema (the fast check's text is sliced instead)."""
    return f"{instant.year:04d}-{instant.month:02d}"


def _either_form(ids) -> frozenset:
    """Parent ids as integers and as their text: a record holds one or the other."""
    return frozenset(i for (value,) in ids for i in (value, str(value)))


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)

"""Loading rows into a table: row check, COPY into staging, set-based merge, load report.

One load is one transaction:

1. the load is put on record in `loads` (committed on its own, so a load that dies is still
   listed, then marked failed);
2. every input row is checked against the table's schema and streamed with COPY into a
   temporary staging table, rejected rows with their reasons;
3. set-based SQL (sql/ingest/) moves rejects to `load_rejects` (failed checks, ids repeated in
   the load, missing departments or jobs, conflicts), drops rows stored already with the same
   values, updates conflicts when asked, and inserts the rest;
4. the load's record is completed with its counts, in the same transaction as its data.

If anything fails, the transaction rolls back: none of the load's rows, rejects or counts are
stored, and the load is marked failed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from itertools import chain

import psycopg

from hrapi.db import Database, DatabaseUnavailable
from hrapi.sql_files import compose_per_table, load_group
from hrapi.tables import Table

log = logging.getLogger(__name__)
reject_log = logging.getLogger("hrapi.rejects")

REPORT_REJECTS = 100  # rejects listed in a load report; all of them are in load_rejects
LOG_RAW_CHARS = 200  # of a reject's raw text, in its log line
MERGE_ATTEMPTS = 3  # a merge that meets a deadlock or serialization failure is retried
INGEST_STEPS = (
    "create_stage",
    "copy_stage",
    "lock_target",
    "reject_checked",
    "reject_duplicates",
    "reject_missing_references",
    "drop_unchanged",
    "reject_conflicts",
    "update_conflicts",
    "insert_new",
)
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
        self.steps = compose_per_table(load_group(sql_dir, "ingest", required=INGEST_STEPS))
        self.loads_sql = load_group(sql_dir, "loads", required=LOAD_QUERIES)

    def load(
        self,
        table: Table,
        records: Iterable[tuple],
        *,
        source: str,
        filename: str | None = None,
        on_conflict: str = "reject",
    ) -> LoadReport:
        """Load staging records (see row_check) into table in one transaction; the report.

        Raises EmptyInput (before anything is recorded) when there are no rows, and
        DatabaseUnavailable when the database goes away (nothing of the load is kept).
        """
        records = iter(records)
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
                    self._run(
                        conn, table, records, report, on_conflict=on_conflict, started=started
                    )
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
            reject_log.info(
                "reject load_id=%s %s", report.load_id, json.dumps(reject, ensure_ascii=False)
            )
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
        conn.execute(steps["create_stage"])
        with conn.cursor().copy(steps["copy_stage"]) as copy:
            for record in records:
                copy.write_row(record)
                report.received += 1
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
        report.status = "completed"
        report.duration_ms = _ms_since(started)
        conn.execute(self.loads_sql["complete_load"], asdict(report))
        report.rejects = [
            {params["position"]: line, "raw": raw, "reasons": reasons}
            for line, raw, reasons in conn.execute(
                self.loads_sql["list_rejects"],
                {"load_id": report.load_id, "after": -1, "limit": REPORT_REJECTS},
            )
        ]

    def _merge(self, conn, table, report: LoadReport, *, params: dict, on_conflict: str) -> None:
        """Staged rows into the table, set-based; fills the report's counts."""
        steps = self.steps[table.name]

        def run(step: str) -> int:
            return conn.execute(steps[step], params).rowcount

        run("lock_target")
        run("reject_checked")
        run("reject_duplicates")
        if table.name == "hired_employees":
            run("reject_missing_references")
        report.unchanged = run("drop_unchanged")
        report.updated = run("update_conflicts") if on_conflict == "update" else 0
        if on_conflict != "update":
            run("reject_conflicts")
        report.inserted = run("insert_new")
        report.rejected = conn.execute(self.loads_sql["count_rejects"], params).fetchone()[0]
        accounted = report.inserted + report.updated + report.unchanged + report.rejected
        if accounted != report.received:
            raise RuntimeError(f"load {report.load_id}: {report.received} rows in, {accounted} out")

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


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)

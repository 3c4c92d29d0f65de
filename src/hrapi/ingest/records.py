"""A load's record in `loads`: put on record, completed with its counts and first rejects,
or marked failed (sql/loads/). The orchestrator (pipeline) says when; this module says how, on
the load's own connection, or on another one where the load's is in no state to."""

from __future__ import annotations

import logging

import psycopg

from hrapi import metrics
from hrapi.db import Database, DatabaseUnavailable
from hrapi.ingest.rejects import reasons_of
from hrapi.ingest.report import REPORT_REJECTS, LoadReport

log = logging.getLogger(__name__)


class LoadRecords:
    """The statements of loads' records. fields: a load's table, source, filename, conflict
    rule, options and request id, as create_load.sql takes them."""

    def __init__(self, database: Database, sql: dict):
        self.database = database
        self.sql = sql

    def create(self, conn, fields: dict) -> int:
        """Put a load on record, committed on its own; its id."""
        with conn.pipeline():  # one round trip
            created = conn.execute(self.sql["create_load"], fields)
            conn.commit()
        return created.fetchone()[0]

    def record(self, conn, fields: dict) -> int:
        """Put a load on record in the transaction under way; its id."""
        return conn.execute(self.sql["create_load"], fields).fetchone()[0]

    def record_done(self, conn, fields: dict, report: LoadReport) -> int:
        """Put a load that is done on record, complete, in the transaction under way (a
        direct batch's, see record_batch.sql); its id."""
        return conn.execute(self.sql["record_batch"], {**fields, **report.as_dict()}).fetchone()[0]

    def complete(self, conn, report: LoadReport) -> None:
        """Complete the load's record (in its transaction) and list its first rejects."""
        if report.status == "running":
            report.status = "completed"
        conn.execute(self.sql["complete_load"], report.as_dict())
        self.list_rejects(conn, report)

    def list_rejects(self, conn, report: LoadReport) -> None:
        """The load's first rejects, into its report."""
        if not report.rejected:
            return
        position = "line" if report.source == "csv" else "index"
        report.rejects = [
            {position: line, "raw": raw, "reasons": reasons_of(errors), "errors": errors}
            for line, raw, errors in conn.execute(
                self.sql["list_rejects"],
                {"load_id": report.load_id, "after": -1, "limit": REPORT_REJECTS},
            )
        ]

    def mark_failed(self, conn, report: LoadReport, exc: BaseException, fields: dict) -> None:
        """Record the failure if the database still answers (a batch whose record was rolled
        back with its rows is put on record now); else the next load's sweep will mark a
        recorded load failed, and a batch is not on record at all: its client got the error
        and nothing of it was stored."""
        error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        report.status = "failed"
        metrics.count_load(report)
        log.warning("load load_id=%s table=%s status=failed error=%s", report.load_id or None,
                    report.table, error)  # fmt: skip
        if report.source == "json":
            report.load_id = 0  # its record went with the rolled-back transaction
        try:
            with conn.transaction():
                load_id = report.load_id or self.record(conn, fields)
                conn.execute(
                    self.sql["fail_load"],
                    {"load_id": load_id, "error": error, "duration_ms": report.duration_ms},
                )
            report.load_id = load_id
        except (psycopg.Error, DatabaseUnavailable):
            if report.load_id and self._mark_failed_elsewhere(report, error):
                return
            if report.load_id:
                log.warning("could not mark load %s failed now; it will be swept", report.load_id)
            else:
                log.warning("could not put the failed %s batch on record; nothing of it was "
                            "stored", report.table)  # fmt: skip

    def _mark_failed_elsewhere(self, report: LoadReport, error: str) -> bool:
        """Mark a recorded load failed on another connection (its own is in no state to, in
        the middle of a COPY say); whether that worked."""
        try:
            with self.database.connection(timeout=2) as other:
                other.execute(self.sql["fail_load"], {"load_id": report.load_id,
                              "error": error, "duration_ms": report.duration_ms})  # fmt: skip
        except (psycopg.Error, DatabaseUnavailable):
            return False
        return True

"""The stakeholders' two questions, answered by the SQL in sql/insights/.

The queries sum the hire counts summary; while a first load has left it to be rebuilt
(sql/schema/014), the plain queries over hired_employees in sql/insights_reference answer
instead, which the tests hold equal. The queries are read once at start-up; when the database
is reachable then, each is also planned (EXPLAIN) so that a broken file stops start-up with its
name instead of failing the first request.
"""

from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal

import psycopg

from hrapi.db import Database, DatabaseUnavailable, TableBusy
from hrapi.sql_files import SqlFilesError, load_group

log = logging.getLogger(__name__)

QUERIES = ("hires_by_quarter", "departments_above_mean", "years_with_hires")
REFERENCE = "insights_reference"
QUARTERS = ("Q1", "Q2", "Q3", "Q4")


class Insights:
    """Runs the insight queries: `sql/insights` (summary-based, what the API serves, but for
    the plain ones while the summary is stale), or with group="insights_reference" the plain
    queries over hired_employees they must equal."""

    def __init__(self, database: Database, sql_dir, group: str = "insights"):
        self.database = database
        self.group = group
        self.sql = load_group(sql_dir, group, required=QUERIES)
        self.plain = (self.sql if group == REFERENCE
                      else load_group(sql_dir, REFERENCE, required=QUERIES))  # fmt: skip
        self.wait_for_loads = load_group(sql_dir, "tables", required=("wait_for_loads",))[
            "wait_for_loads"
        ]

    def check_queries(self) -> None:
        """Plan every query once; raise SqlFilesError naming a broken one."""
        if not self.database.schema_ready:
            log.warning("insight queries not checked: the database was unavailable at start-up")
            return
        try:
            with self.database.connection() as conn:
                for group, queries in {self.group: self.sql, REFERENCE: self.plain}.items():
                    for name in QUERIES:
                        try:
                            with conn.transaction():
                                conn.execute("EXPLAIN " + queries[name], {"year": 2021})
                        except psycopg.Error as exc:
                            raise SqlFilesError(f"sql/{group}/{name}.sql is broken: {exc}") from exc
        except DatabaseUnavailable as exc:
            log.warning("insight queries not checked (database unavailable): %s", exc)

    def _answer(self, name: str, params: dict | None = None) -> list[tuple]:
        """A query's rows: the summary's, or the plain query's while the summary is stale.
        A plain query waits 3 s at most for a first load that holds hired_employees (then
        TableBusy: a 503), as reads of the table do (sql/tables/wait_for_loads.sql)."""
        with self.database.connection() as conn, conn.transaction():
            is_stale = self.sql.get("summary_is_stale")  # the reference group has none
            if is_stale and not conn.execute(is_stale).fetchone()[0]:
                return conn.execute(self.sql[name], params).fetchall()
            conn.execute(self.wait_for_loads)
            try:
                return conn.execute(self.plain[name], params).fetchall()
            except psycopg.errors.LockNotAvailable as exc:
                raise TableBusy("hired_employees") from exc

    def hires_by_quarter(self, year: int) -> list[dict]:
        records = self._answer("hires_by_quarter", {"year": year})
        return [
            {"department": department, "job": job, **dict(zip(QUARTERS, counts, strict=True))}
            for department, job, *counts in records
        ]

    def years(self) -> list[int]:
        """The years that have hires (sql/insights/years_with_hires.sql)."""
        return [year for (year,) in self._answer("years_with_hires")]

    def departments_above_mean(self, year: int) -> tuple[float, list[dict]]:
        records = self._answer("departments_above_mean", {"year": year})
        mean = float(Decimal(records[0][0]).quantize(Decimal("0.01"), ROUND_HALF_UP))
        rows = [
            {"id": dept_id, "department": department, "hired": hired}
            for _, dept_id, department, hired in records
            if dept_id is not None
        ]
        return mean, rows

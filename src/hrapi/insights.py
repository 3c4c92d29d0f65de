"""The stakeholders' two questions, answered by the SQL in sql/insights/.

The queries are read once at start-up; when the database is reachable then, each is also
planned (EXPLAIN) so that a broken file stops start-up with its name instead of failing the
first request.
"""

from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal

import psycopg

from hrapi.db import Database, DatabaseUnavailable
from hrapi.sql_files import SqlFilesError, load_group

log = logging.getLogger(__name__)

QUERIES = ("hires_by_quarter", "departments_above_mean")
QUARTERS = ("Q1", "Q2", "Q3", "Q4")


class Insights:
    """Runs the insight queries: `sql/insights` (summary-based, what the API serves), or with
    group="insights_reference" the plain queries over hired_employees they must equal."""

    def __init__(self, database: Database, sql_dir, group: str = "insights"):
        self.database = database
        self.group = group
        self.sql = load_group(sql_dir, group, required=QUERIES)

    def check_queries(self) -> None:
        """Plan every query once; raise SqlFilesError naming a broken one."""
        if not self.database.schema_ready:
            log.warning("insight queries not checked: the database was unavailable at start-up")
            return
        try:
            with self.database.connection() as conn:
                for name in QUERIES:
                    try:
                        with conn.transaction():
                            conn.execute("EXPLAIN " + self.sql[name], {"year": 2021})
                    except psycopg.Error as exc:
                        raise SqlFilesError(
                            f"sql/{self.group}/{name}.sql is broken: {exc}"
                        ) from exc
        except DatabaseUnavailable as exc:
            log.warning("insight queries not checked (database unavailable): %s", exc)

    def hires_by_quarter(self, year: int) -> list[dict]:
        with self.database.connection() as conn:
            records = conn.execute(self.sql["hires_by_quarter"], {"year": year}).fetchall()
        return [
            {"department": department, "job": job, **dict(zip(QUARTERS, counts, strict=True))}
            for department, job, *counts in records
        ]

    def years(self) -> list[int]:
        """The years that have hires (sql/insights/years_with_hires.sql)."""
        with self.database.connection() as conn:
            return [year for (year,) in conn.execute(self.sql["years_with_hires"])]

    def departments_above_mean(self, year: int) -> tuple[float, list[dict]]:
        with self.database.connection() as conn:
            records = conn.execute(self.sql["departments_above_mean"], {"year": year}).fetchall()
        mean = float(Decimal(records[0][0]).quantize(Decimal("0.01"), ROUND_HALF_UP))
        rows = [
            {"id": dept_id, "department": department, "hired": hired}
            for _, dept_id, department, hired in records
            if dept_id is not None
        ]
        return mean, rows

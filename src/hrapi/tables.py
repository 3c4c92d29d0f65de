"""The fixed map of tables the API serves: their names and columns, parents first.

Every SQL identifier hrapi uses comes from this map, never from request text. What a valid row
of each table is lives in the data dictionary (ingest/row_schemas.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """One loadable table: its name and its columns in file order."""

    name: str
    columns: tuple[str, ...]

    @property
    def header(self) -> list[str]:
        return list(self.columns)


TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        Table("departments", ("id", "department")),
        Table("jobs", ("id", "job")),
        Table("hired_employees", ("id", "name", "datetime", "department_id", "job_id")),
    )
}

# Parents first: the order in which a multi-file upload or a seed loads tables.
LOAD_ORDER: tuple[str, ...] = ("departments", "jobs", "hired_employees")

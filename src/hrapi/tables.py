"""The fixed map of tables the API serves: names, columns and row schemas.

Every SQL identifier hrapi uses comes from this map, never from request text.
"""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema

from hrapi.row_schemas import DepartmentRow, HiredEmployeeRow, JobRow


@dataclass(frozen=True)
class Table:
    """One loadable table: its name, its columns in file order, and its row schema."""

    name: str
    columns: tuple[str, ...]
    row_schema: type[Schema]

    @property
    def header(self) -> list[str]:
        return list(self.columns)


TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        Table("departments", ("id", "department"), DepartmentRow),
        Table("jobs", ("id", "job"), JobRow),
        Table(
            "hired_employees",
            ("id", "name", "datetime", "department_id", "job_id"),
            HiredEmployeeRow,
        ),
    )
}

# Parents first: the order in which a multi-file upload or a seed loads tables.
LOAD_ORDER: tuple[str, ...] = ("departments", "jobs", "hired_employees")

"""Checking one row against the data dictionary: its values in column order, or its reasons."""

from __future__ import annotations

from marshmallow import ValidationError

from hrapi.csv_source import SourceRow
from hrapi.row_schemas import reasons_from
from hrapi.tables import Table


class RowChecker:
    """Applies a table's Marshmallow schema to SourceRows."""

    def __init__(self, table: Table):
        self.columns = table.columns
        self.schema = table.row_schema()

    def check(self, row: SourceRow) -> tuple[tuple | None, list[str] | None]:
        """(values in column order, None) for a valid row, (None, reasons) for a bad one."""
        if row.problem is not None:
            return None, [row.problem]
        if not isinstance(row.data, dict):
            return None, ["row must be a JSON object with the table's fields"]
        try:
            loaded = self.schema.load(row.data)
        except ValidationError as error:
            return None, reasons_from(error)
        return tuple(loaded[name] for name in self.columns), None

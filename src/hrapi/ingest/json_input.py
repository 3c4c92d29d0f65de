"""Where a JSON batch's records come from: its rows, as one Chunk of value tuples in column
order, which the check reads as it reads a CSV's chunks."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator

from hrapi.ingest.rejects import json_raw
from hrapi.ingest.sources import Chunk
from hrapi.tables import Table


class JsonInput:
    """A JSON batch's rows as loads read them (any number of times), as one Chunk."""

    source = "json"

    def __init__(self, rows: list, table: Table):
        self.rows = rows
        self.table = table
        self._chunk: Chunk | None = None  # made once: every reading yields it

    def chunks(self) -> Iterator[Chunk]:
        if self._chunk is None:
            self._chunk = self._as_chunk()
        yield self._chunk

    def _as_chunk(self) -> Chunk:
        """The rows as tuples of their values in column order (None for a row that is not an
        object with exactly the table's fields): one C call a row where all rows are plain
        (of JSON's values, only an object takes the fields' names as keys)."""
        columns = self.table.columns
        getter = operator.itemgetter(*columns)
        rows, width = self.rows, len(columns)
        try:
            if set(map(len, rows)) == {width}:
                return Chunk(list(map(getter, rows)), 0, objects=rows)
        except (KeyError, TypeError):  # a field missing, a row that is not an object
            pass
        values = [
            _values_of(row, getter) if type(row) is dict and len(row) == width else None
            for row in rows
        ]
        return Chunk(values, 0, objects=rows)

    def raws(self, indices: Iterable[int]) -> Iterator[tuple[int, str]]:
        """(index, raw text) of the rows at these indices."""
        return ((index, json_raw(self.rows[index])) for index in indices)

    def close(self) -> None:
        pass


def _values_of(row: dict, getter) -> tuple | None:
    try:
        return getter(row)
    except KeyError:
        return None

"""Rows out of a CSV byte stream, read incrementally, with their line numbers and raw text.

The stream is read line by line (never whole), decoded as UTF-8 (a leading BOM is dropped)
and parsed with the standard `csv` module. Each record comes out as a `SourceRow`: its first
line number, its raw text, and either its fields by column name or the reason it could not be
read (wrong number of fields, bytes that are not UTF-8, a field over the csv size limit). An
optional first line with the column names is recognised as a header and skipped; empty lines
carry no data and are skipped.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

CSV_FIELD_LIMIT = 1 << 20  # characters; a longer field is a per-row reject, not a crash
RAW_KEEP = 10_000  # characters of a rejected record's raw text that are stored
_NOT_UTF8 = re.compile("[\udc80-\udcff]")

csv.field_size_limit(CSV_FIELD_LIMIT)


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One record of input: where it was, what it was, and what it holds (or why not)."""

    position: int  # CSV: first line number (1-based); JSON: index in "rows" (0-based)
    raw: str
    data: dict | None
    problem: str | None = None


def printable(raw: str) -> str:
    """Raw text as PostgreSQL can store it: undecodable bytes as \\xNN, NUL as \\x00."""
    if _NOT_UTF8.search(raw):
        raw = raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if "\x00" in raw:
        raw = raw.replace("\x00", "\\x00")
    return raw[:RAW_KEEP]


class _LineTap:
    """Feeds decoded lines to csv.reader while remembering those of the current record."""

    def __init__(self, lines: Iterable[bytes]):
        self._lines = iter(lines)
        self.taken: list[str] = []
        self.first = True

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self._lines).decode("utf-8", "surrogateescape")
        if self.first:
            self.first = False
            line = line.removeprefix("\ufeff")
        self.taken.append(line)
        return line

    def record_text(self) -> str:
        text = "".join(self.taken).rstrip("\r\n")
        self.taken.clear()
        return text


def read_csv(lines: Iterable[bytes], columns: tuple[str, ...]) -> Iterator[SourceRow]:
    """Yield a SourceRow per record of a headerless (or headed) CSV given as byte lines."""
    tap = _LineTap(lines)
    reader = csv.reader(tap, strict=True)
    width = len(columns)
    header = [c.lower() for c in columns]
    first_record = True
    while True:
        start_line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raw = tap.record_text()
            yield SourceRow(start_line, raw, None, f"unreadable CSV: {exc} (an unbalanced quote?)")
            continue
        raw = tap.record_text()
        if not fields:
            continue  # an empty line
        if first_record:
            first_record = False
            if [f.strip().lower() for f in fields] == header:
                continue
        if _NOT_UTF8.search(raw):
            yield SourceRow(start_line, raw, None, "line is not valid UTF-8")
        elif len(fields) != width:
            yield SourceRow(
                start_line,
                raw,
                None,
                f"expected {width} fields ({','.join(columns)}), got {len(fields)}",
            )
        else:
            # An empty field is a missing one: the schema then says which is required.
            yield SourceRow(
                start_line,
                raw,
                {name: value for name, value in zip(columns, fields, strict=True) if value != ""},
            )

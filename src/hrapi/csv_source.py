"""Staging records out of a CSV byte stream, read incrementally, with line numbers and raw text.

The stream is decoded as UTF-8 as it is read (never held whole; bytes that are not UTF-8 are
kept as lone surrogates so the line can be rejected with its number) and split into lines.
A line in the plain shape of the historical files goes through the table's fast check (see
row_check); any other line, and any line the fast check is unsure of, is parsed with the
standard `csv` module (quotes, embedded newlines) and checked by the Marshmallow schema, which
then words the reasons. A load into an empty hires table may also set a block check, which
takes runs of plain lines a chunk at a time (row_check.HireBlockCheck). An optional first line
with the column names is a header and is skipped, as is a UTF-8 BOM; empty lines carry no data
and are skipped.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from hrapi.row_schemas import NOT_UTF8

CSV_FIELD_LIMIT = 1 << 20  # characters; a longer field is a per-row reject, not a crash
RAW_KEEP = 10_000  # characters of a rejected record's raw text that are stored
READ_BUFFER = 1 << 20  # bytes read from a stream at a time (gunicorn copies less per read)
BLOCK_CHARS = 1 << 16  # text handed to a block check at a time
LINE_CHUNK_CHARS = 1 << 13  # text read at a time when lines go one by one

csv.field_size_limit(CSV_FIELD_LIMIT)


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One record of input: where it was, what it was, and what it holds (or why not)."""

    position: int  # CSV: first line number (1-based); JSON: index in "rows" (0-based)
    raw: str
    data: dict | None
    problem: str | None = None


def printable(raw: str) -> str:
    """Raw text as PostgreSQL can store it: undecodable bytes as \\xNN, other lone
    surrogates (from JSON escapes) as \\uNNNN, NUL as \\x00."""
    if NOT_UTF8.search(raw):
        raw = NOT_UTF8.sub(_escaped_surrogate, raw)
    if "\x00" in raw:
        raw = raw.replace("\x00", "\\x00")
    return raw[:RAW_KEEP]


def _escaped_surrogate(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


RAW_TOO_DEEP = "(a row nested too deeply to write back as JSON)"


def json_raw(row) -> str:
    """A JSON row's raw text, as stored with its reject (for a row nested hundreds of levels
    deep, which JSON bodies may hold, RAW_TOO_DEEP: its reasons still say what is wrong)."""
    try:
        return json.dumps(row, ensure_ascii=False)
    except RecursionError:
        return RAW_TOO_DEEP


class _RecordLines:
    """Feeds csv.reader one record's lines (the first given, the rest pulled on demand)."""

    def __init__(self, first: str, rest):
        self._pending: str | None = first
        self._rest = rest
        self.taken: list[str] = []

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self._pending is not None:
            line, self._pending = self._pending, None
        else:
            line = next(self._rest)
        self.taken.append(line)
        return line

    def text(self) -> str:
        return "".join(self.taken).rstrip("\r\n")


@dataclass(frozen=True, slots=True)
class Block:
    """Many consecutive lines that a block check (row_check.HireBlockCheck) found all plain and
    valid: the first one's number, how many, and their text as COPY rows."""

    first_line: int
    count: int
    copy_text: str


# A line as the csv module and universal newlines see it: it ends at \n, \r\n or \r.
_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")
# A line the csv module would only split at its commas: no quote, no NUL, \n at most at its end,
# no field anywhere near the csv module's size limit.
_UNQUOTED = re.compile(f'[^"\\r\\n\\x00]{{0,{1 << 16}}}\\n?')


class _Lines:
    """A text's lines one at a time, or a chunk of whole lines at a time for a block check
    (which hands back Blocks and the lines left to check one by one, in order).

    The text is read in chunks cut after a line's end (what follows waits for the next
    chunk), never line by line: lines are split out of a chunk only where needed.
    """

    def __init__(self, text):
        self._text = text
        self._rest = ""  # the start of a line whose end is not read yet
        self._pending: deque = deque()

    def __iter__(self):
        return self

    def __next__(self):
        if not self._pending:
            self.split(self.chunk(LINE_CHUNK_CHARS))
            if not self._pending:
                raise StopIteration
        return self._pending.popleft()

    def waiting(self) -> bool:
        """Whether lines of an earlier chunk still wait to go one by one."""
        return bool(self._pending)

    def chunk(self, size: int = BLOCK_CHARS) -> str:
        """About size characters of whole lines; the rest of the text at its end, then ""."""
        text = self._rest
        while True:
            more = self._text.read(size)
            if more.endswith("\r"):
                more += self._text.read(1)  # so that a \r\n is never cut in two
            text += more
            end = max(text.rfind("\n"), text.rfind("\r")) + 1
            if not more:  # the end of the text
                end = len(text)
                break
            if end:
                break
        self._rest = text[end:]
        return text[:end]

    def one_by_one(self, parts: list) -> None:
        self._pending.extend(parts)

    def split(self, text: str) -> None:
        """Hand a chunk's lines back to go one by one."""
        self._pending.extend(_LINE.findall(text))


def csv_records(stream, table, checker) -> Iterator[tuple | Block]:
    """Yield the staging record of every CSV record of a binary stream (see row_check), or a
    Block for runs of lines that the checker's block_check, once set, accepts all at once."""
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape", newline="")
    try:
        yield from _records(_Lines(text), table, checker)
    finally:
        text.detach()  # leave the stream open: a load may read it again


def _records(lines: _Lines, table, checker) -> Iterator[tuple | Block]:
    fast_record = checker.fast_record if checker.fast else None
    header = [c.lower() for c in table.columns]
    width = len(table.columns)
    line_number = 0
    first = True
    while True:
        block_check = checker.block_check  # set by a load once it knows it may take blocks
        if block_check is not None and not first and not lines.waiting():
            chunk = lines.chunk()
            if chunk:
                parts = block_check(line_number + 1, chunk)
                if parts is None:
                    lines.split(chunk)
                else:
                    lines.one_by_one(parts)
        next_line = next(lines, None)
        if next_line is None:
            return
        if type(next_line) is Block:
            line_number += next_line.count
            yield next_line
            continue
        line_number += 1
        line = next_line.removeprefix("\ufeff") if first else next_line
        if fast_record is not None:
            record = fast_record(line_number, line)
            if record is not None:
                first = False
                yield record
                continue
        start = line_number
        problem = None
        if fast_record is not None and not first and _UNQUOTED.fullmatch(line):
            raw = line.removesuffix("\n")  # what the csv module reads in it: commas split it
            fields = raw.split(",") if raw else []
        else:
            record_lines = _RecordLines(line, lines)
            reader = csv.reader(record_lines, strict=True)
            try:
                fields = next(reader)
            except csv.Error as exc:
                fields, problem = None, f"unreadable CSV: {exc} (an unbalanced quote?)"
            line_number += len(record_lines.taken) - 1
            raw = record_lines.text()
        if fields is not None:
            if not fields:
                continue  # an empty line
            if first and [f.strip().lower() for f in fields] == header:
                first = False
                continue
            if NOT_UTF8.search(raw):
                problem = "line is not valid UTF-8"
            elif len(fields) != width:
                problem = f"expected {width} fields ({','.join(table.columns)}), got {len(fields)}"
            else:
                problem = None
        first = False
        data = None
        if problem is None:
            # An empty field is a missing one: the schema then says which is required.
            data = {name: value for name, value in zip(table.columns, fields, strict=True) if value}
        yield checker.record(SourceRow(start, raw, data, problem))


class CsvInput:
    """A CSV body as loads read it: records on demand, and again from the start if needed.

    A load that must start over (see ingest) reads the input a second time: a seekable file is
    rewound; any other stream is copied to a temporary file as it is read, and a second
    reading takes that copy and then the rest of the stream.
    """

    def __init__(self, stream, table):
        self.table = table
        self._stream = stream
        self._seekable = _is_seekable(stream)
        self._start = stream.tell() if self._seekable else 0
        self._copy = None
        self._reads = 0

    def records(self, checker) -> Iterator[tuple | Block]:
        self._reads += 1
        if self._seekable:
            self._stream.seek(self._start)
            source = self._stream
        elif self._reads == 1:
            self._copy = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
            source = io.BufferedReader(_Tee(self._stream, self._copy), READ_BUFFER)
        else:
            self._copy.seek(0)
            source = io.BufferedReader(_Chain(self._copy, self._stream), READ_BUFFER)
        return csv_records(source, self.table, checker)

    def close(self) -> None:
        if self._copy is not None:
            self._copy.close()


class JsonInput:
    """A JSON batch's rows as loads read them (any number of times)."""

    def __init__(self, rows: list):
        self.rows = rows

    def records(self, checker) -> Iterator[tuple]:
        json_record = checker.json_record
        for index, row in enumerate(self.rows):
            yield json_record(index, row)

    def raw_of(self, index: int) -> str:
        """A row's raw text (valid rows are staged without it, see RowChecker.json_record)."""
        return json_raw(self.rows[index])

    def close(self) -> None:
        pass


def _is_seekable(stream) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, ValueError, OSError):
        return False


class _Tee(io.RawIOBase):
    """Reads a stream and writes what it read to a copy."""

    def __init__(self, stream, copy):
        self._stream = stream
        self._copy = copy

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self._stream.readinto(buffer)
        if count:
            self._copy.write(memoryview(buffer)[:count])
        return count


class _Chain(io.RawIOBase):
    """Reads one stream to its end, then another."""

    def __init__(self, first, second):
        self._streams = [first, second]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self._streams:
            count = self._streams[0].readinto(buffer)
            if count:
                return count
            self._streams.pop(0)
        return 0

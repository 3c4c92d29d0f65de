"""Rejected rows: what they hold, how their text is made storable, and where they wait.

A `Rejected` row has its position (CSV line or JSON index), its raw text and every problem
found in it, each a `(field, code, message)` with the Frictionless codes of the README. One
connection runs one COPY at a time, so a load's rejects wait in a `RejectSpool` (in memory,
then on disk: memory does not grow with the input) as COPY rows of load_rejects, and are
copied in after the data (a direct load's writer thread sends them between its COPY
statements instead, see copy_writer).
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
from typing import NamedTuple

import orjson

from hrapi.ingest.row_schemas import NOT_UTF8

RAW_KEEP = 10_000  # characters of a rejected record's raw text that are stored
REJECT_SPOOL_BYTES = 1 << 20  # rejected rows kept in memory up to this, then on disk
RAW_TOO_DEEP = "(a row nested too deeply to write back as JSON)"


class Rejected(NamedTuple):
    """A row that breaks a rule: where it was, its raw text (storable), and every problem."""

    position: int
    raw: str
    errors: tuple[tuple[str | None, str, str], ...]  # (field, code, message)


def reason(field: str | None, message: str) -> str:
    """A problem as one sentence: 'field: message', or the message for the whole row."""
    return f"{field}: {message}" if field else message


def printable(raw: str, *, escapes: bool = False) -> str:
    """Text as PostgreSQL can store it: lone surrogates as the bytes a file's encoding could
    not decode (U+DC00 plus the byte, see sources.UNDECODABLE), \\xNN, or with `escapes` (the
    text is JSON's, whose escapes may hold any surrogate) as \\uNNNN; NUL as \\x00; at most
    RAW_KEEP characters."""
    raw = raw[:RAW_KEEP]
    if raw.isascii() and "\x00" not in raw:
        return raw
    if NOT_UTF8.search(raw):
        raw = NOT_UTF8.sub(_escaped_surrogate if escapes else _undecoded_byte, raw)
    if "\x00" in raw:
        raw = raw.replace("\x00", "\\x00")
    return raw


def in_brief(names, *, escapes: bool = False) -> str:
    """Names for a message: the first five, each printable and at most 40 characters, and how
    many more (a header or a JSON row may hold any number, of any length)."""
    shown = ", ".join(repr(printable(str(name), escapes=escapes)[:40]) for name in names[:5])
    return shown if len(names) <= 5 else f"{shown} and {len(names) - 5} more"


def _undecoded_byte(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC00 <= code <= 0xDCFF else f"\\u{code:04x}"


def _escaped_surrogate(match: re.Match) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_raw(row) -> str:
    """A JSON row's raw text, as stored with its reject (for a row nested hundreds of levels
    deep, which JSON bodies may hold, RAW_TOO_DEEP: its reasons still say what is wrong)."""
    try:
        return printable(json.dumps(row, ensure_ascii=False), escapes=True)
    except RecursionError:
        return RAW_TOO_DEEP


class RejectSpool:
    """A load's rejected rows, kept as COPY rows of load_rejects until copy_into."""

    def __init__(self, load_id: int):
        self._file = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by copy_into
            max_size=REJECT_SPOOL_BYTES, mode="w+", encoding="utf-8"
        )
        self._prefix = f"{load_id}\t"
        self.count = 0

    def add(self, reject: Rejected) -> None:
        self._file.write(copy_rows(self._prefix, (reject,)))
        self.count += 1

    def extend(self, rejects) -> None:
        for reject in rejects:
            self.add(reject)

    def copy_into(self, conn, copy_sql) -> None:
        """COPY the spooled rejects into load_rejects."""
        self._file.seek(0)
        with conn.cursor().copy(copy_sql) as copy:
            while chunk := self._file.read(1 << 16):
                copy.write(chunk)
        self.close()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RejectSpool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def copy_rows(prefix: str, rejects) -> str:
    """Rejects as COPY rows of load_rejects (prefix: the load id and a tab)."""
    return "".join([f"{prefix}{r.position}\t{copy_escaped(r.raw)}\t{_problems_text(r.errors)}\n"
                    for r in rejects])  # fmt: skip


@functools.lru_cache(maxsize=4096)
def _problems_text(errors: tuple) -> str:
    """The errors column of a reject, as COPY text (rows of a file often share their
    problems: made once for each)."""
    return copy_escaped(_json([{"field": f, "code": c, "message": m} for f, c, m in errors]))


def reasons_of(errors: list[dict]) -> list[str]:
    """The sentences of a stored reject's errors (see reason)."""
    return [reason(e["field"], e["message"]) for e in errors]


def _json(value) -> str:
    """JSON text of a reject's errors (orjson; the json module for text it refuses)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


_COPY_SPECIAL = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_escaped(value: str) -> str:
    """A value as a field of COPY's text format."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_SPECIAL)
    return value

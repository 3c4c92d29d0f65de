"""Checking rows against the data dictionary, and the records they become.

A valid row becomes a staging record `(position, raw, *values)`; a rejected one becomes a
`Rejected(position, raw, reasons)`, reasons being a list of "field: message" lines.

Two checks, one truth. `record()` applies the table's Marshmallow schema (row_schemas): it is
the data dictionary and words every reason. `fast_record()` is derived from the same schema
fields for the plain shape of the historical files (unquoted fields, canonical integers,
UTC datetimes with Z) and runs about twenty times faster; it only ever accepts, handing
anything it is unsure of back to the schema. The same holds for the faster forms of it: runs
of CSV lines checked a chunk at a time (HireBlockCheck), JSON rows (`json_record`), and JSON
batches checked a column at a time (`json_copy_text`). tests/test_fast_check.py proves over
large generated corpora that whatever they accept, the schema accepts with the same values.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
from typing import NamedTuple

from marshmallow import ValidationError

from hrapi.csv_source import Block, SourceRow, json_raw, printable
from hrapi.row_schemas import (
    INT32_MAX,
    TEXT_MAX_LENGTH,
    Int32,
    Text,
    UtcInstant,
    reasons_from,
)
from hrapi.tables import Table

_MISSING = object()  # stands for an absent field in the per-field cache


class Rejected(NamedTuple):
    """A row that breaks a rule: where it was, its raw text (storable), and why."""

    position: int
    raw: str
    reasons: list[str]


# Per schema field type, the plain CSV shape the fast check accepts (everything else goes to
# the schema): positive integers without sign or leading zeros, unquoted non-empty text
# without NUL or undecodable bytes, and ISO datetimes in UTC with Z.
_FAST_PATTERNS = {
    Int32: r"([1-9][0-9]{0,8})",  # ten digits may pass 2147483647: the schema decides
    Text: rf'([^",\r\n\x00\ud800-\udfff]{{1,{TEXT_MAX_LENGTH}}})',
    UtcInstant: r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?Z)",
}


class RowChecker:
    """Turns a table's input rows into staging records.

    With fast=False only the Marshmallow schema is used (the reference the tests compare with).
    """

    def __init__(self, table: Table, *, fast: bool = True):
        self.columns = table.columns
        self.fast = fast
        self.block_check = None  # a HireBlockCheck, set by a direct load (see ingest)
        self.schema, self._field_schemas = _schemas(table)
        kinds = [type(self.schema.fields[c]) for c in table.columns]
        self._fast_line = re.compile(",".join(_FAST_PATTERNS[k] for k in kinds) + r"\r?\n?")
        self._fast_field = {
            c: (re.compile(_FAST_PATTERNS[k]), k) for c, k in zip(table.columns, kinds, strict=True)
        }
        # A field's reasons depend on its value alone: ask the schema once per distinct value.
        self._field_reasons = functools.lru_cache(maxsize=4096)(self._ask_schema_about)
        self._kinds = kinds
        self._text_groups = [i for i, k in enumerate(kinds) if k is Text]
        self._time_groups = [i for i, k in enumerate(kinds) if k is UtcInstant]

    def check(self, row: SourceRow) -> tuple[tuple | None, list[str] | None]:
        """(values in column order, None) for a valid row, (None, reasons) for a bad one."""
        if row.problem is not None:
            return None, [row.problem]
        if not isinstance(row.data, dict):
            return None, ["row must be a JSON object with the table's fields"]
        if self.fast:
            reasons = self._reasons_of_suspect_fields(row.data)
            if reasons:
                return None, reasons
        try:
            loaded = self.schema.load(row.data)
        except ValidationError as error:
            return None, reasons_from(error)
        return tuple(loaded[name] for name in self.columns), None

    def _reasons_of_suspect_fields(self, data: dict) -> list[str] | None:
        """For a row of texts (CSV), the schema's reasons, asking it only about the fields
        the fast check cannot vouch for (a whole-row load costs five times more). None when
        it cannot tell (a value that is not text, an unknown field, or no suspect failed)."""
        if not data.keys() <= self._fast_field.keys():
            return None
        reasons: list[str] = []
        for column in self.columns:
            if column not in data:
                reasons.extend(self._field_reasons(column, _MISSING))
                continue
            value = data[column]
            if not isinstance(value, str):
                return None
            if not _field_passes(value, *self._fast_field[column]):
                reasons.extend(self._field_reasons(column, value))
        return reasons or None

    def _ask_schema_about(self, column: str, value: object) -> tuple[str, ...]:
        try:
            self._field_schemas[column].load({} if value is _MISSING else {column: value})
        except ValidationError as error:
            return tuple(reasons_from(error))
        return ()

    def json_record(self, position: int, row) -> tuple:
        """The staging record of a JSON batch row (or its Rejected).

        A row whose fields are exactly the table's, with values in their plain forms
        (_value_passes: JSON integers, text COPY can take as it is, UTC datetimes with Z), is
        checked here, and its raw text is left out (None: it is made
        only if a later step rejects the row, see json_raw); any other row goes to the
        schema, which decides and words the reasons (tests/test_fast_check.py proves the two
        agree).
        """
        if self.fast and type(row) is dict and row.keys() == self._fast_field.keys():
            values = tuple([row[c] for c in self.columns])
            if all(map(_value_passes, values, self._kinds)):
                return (position, None, *values)
        return self.record(SourceRow(position, json_raw(row), row))

    def json_copy_text(self, rows: list, parents: dict[str, frozenset]) -> tuple[str, list]:
        """The plain, valid rows of a JSON batch as COPY text, and the positions of the others.

        json_record's fast check, with the parents too: a row an object with exactly the
        table's fields; integers JSON integers in range (and among parents[column], where
        given); text without tab, line break or backslash (so it is COPY text as it is);
        datetimes of the block shape (_BLOCK_INSTANT: dates that exist in every year). Checked
        a column at a time (one call into C per column and rule); only a column that fails is
        gone through value by value, to find its rows. The rows left over go to json_record,
        which decides and words their reasons. tests/test_fast_check.py proves that what this
        accepts, the schema accepts with the same values.
        """
        width = len(self.columns)
        if set(map(type, rows)) == {dict} and set(map(len, rows)) == {width}:
            kept = list(range(len(rows)))
        else:
            kept = [i for i, row in enumerate(rows) if type(row) is dict and len(row) == width]
        getter = operator.itemgetter(*self.columns)
        try:  # with as many fields as there are columns, all of them present means no others
            values = list(
                map(getter, rows if len(kept) == len(rows) else map(rows.__getitem__, kept))
            )
        except KeyError:
            kept = [i for i in kept if all(c in rows[i] for c in self.columns)]
            values = [getter(rows[i]) for i in kept]
        failing: set[int] = set()
        if values:
            columns = zip(*values, strict=True)
            for column, kind, column_values in zip(self.columns, self._kinds, columns, strict=True):
                allowed = parents.get(column)
                if not _column_passes(column_values, kind, allowed):
                    failing.update(k for k, value in enumerate(column_values)
                                   if not _value_passes(value, kind, allowed))  # fmt: skip
        if failing:
            values = [v for k, v in enumerate(values) if k not in failing]
            kept = [i for k, i in enumerate(kept) if k not in failing]
        others = sorted(set(range(len(rows))).difference(kept)) if len(kept) < len(rows) else []
        line = "\t".join(["%s"] * width) + "\n"  # ints as str() writes them, text as it is
        return "".join(map(line.__mod__, values)), others

    def record(self, row: SourceRow) -> tuple:
        """The staging record of a row, or its Rejected, by the Marshmallow schema."""
        values, reasons = self.check(row)
        if reasons is None:
            return (row.position, row.raw, *values)
        return Rejected(row.position, printable(row.raw), reasons)

    def fast_record(self, position: int, line: str) -> tuple | None:
        """The staging record of a plain, valid CSV line; None when the schema must decide."""
        match = self._fast_line.fullmatch(line)
        if match is None:
            return None
        values = match.groups()
        for i in self._text_groups:
            if not values[i].strip():
                return None
        for i in self._time_groups:
            try:
                dt.datetime.fromisoformat(values[i])
            except ValueError:
                return None
        # Values go to COPY as the text they are; PostgreSQL reads them as the same numbers
        # and instants the schema would produce.
        return (position, line.rstrip("\r\n"), *values)


@functools.cache
def _schemas(table: Table) -> tuple:
    """A table's row schema, and one per field: built once (a load checks with them, and
    schemas are not changed by loading)."""
    return table.row_schema(), {c: table.row_schema(only=(c,)) for c in table.columns}


def _field_passes(value: str, pattern: re.Pattern, kind) -> bool:
    """The fast check of one field's text (see fast_record)."""
    if pattern.fullmatch(value) is None:
        return False
    if kind is Text:
        return bool(value.strip())
    if kind is UtcInstant:
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            return False
    return True


# The block check's line: the fast check's shape, narrower still (text without tab or backslash,
# so the line is a COPY row once commas become tabs, and with a visible character; only dates
# that exist in every year: days up to 28, 29 and 30 but in February, 31 in the months that
# have it; lines ending in \n alone), with department and job ids that exist.
_BLOCK_TEXT = rf'(?=[^,\n]*[^\s,])[^",\t\\\r\n\x00\ud800-\udfff]{{1,{TEXT_MAX_LENGTH}}}'
_BLOCK_INSTANT = (
    r"(?!0000)[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?Z"
)
BLOCK_PARENTS_MAX = 10_000  # more departments or jobs than this: no block checks (regex size)


def one_of(ids) -> str:
    """A regex matching exactly the given positive integers' texts, as a digit trie (matching
    costs one step per digit, however many ids there are); it matches nothing if ids is empty."""
    trie: dict = {}
    for text in ids:
        node = trie
        for digit in text:
            node = node.setdefault(digit, {})
        node[""] = {}

    def pattern(node: dict) -> str:
        branches = [digit + pattern(child) for digit, child in sorted(node.items()) if digit]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return pattern(trie) if trie else "(?!)"


_COPY_UNSAFE = re.compile(r"[\x00\t\n\r\\\ud800-\udfff]")  # or what Text refuses
_INSTANT_LINES = re.compile(rf"(?:{_BLOCK_INSTANT}\n)*{_BLOCK_INSTANT}")


def _column_passes(values: tuple, kind, allowed: frozenset | None) -> bool:
    """A JSON batch's column, checked whole (see RowChecker.json_copy_text)."""
    if kind is Int32:
        return (
            set(map(type, values)) == {int}  # not bool, not float
            and min(values) > 0
            and max(values) <= INT32_MAX
            and (allowed is None or allowed.issuperset(values))
        )
    if set(map(type, values)) != {str}:
        return False
    if kind is Text:
        return (
            min(map(len, values)) > 0
            and max(map(len, values)) <= TEXT_MAX_LENGTH
            and not any(map(str.isspace, values))
            and _COPY_UNSAFE.search("".join(values)) is None
        )
    lines = "\n".join(values)  # one instant a line, if no value holds a line break itself
    return lines.count("\n") == len(values) - 1 and _INSTANT_LINES.fullmatch(lines) is not None


_INSTANT = re.compile(_BLOCK_INSTANT)


def _value_passes(value, kind, allowed: frozenset | None = None) -> bool:
    """One JSON value in its plain form (RowChecker.json_record), and among allowed where
    given: the rules _column_passes applies to a whole column (a column passes when each of
    its values does)."""
    if kind is Int32:
        return (
            type(value) is int  # not bool, not float
            and 0 < value <= INT32_MAX
            and (allowed is None or value in allowed)
        )
    if type(value) is not str:
        return False
    if kind is Text:
        return (
            0 < len(value) <= TEXT_MAX_LENGTH
            and not value.isspace()
            and _COPY_UNSAFE.search(value) is None
        )
    return _INSTANT.fullmatch(value) is not None


class HireBlockCheck:
    """Checks hires lines a run at a time, for the direct load of an empty table (see ingest).

    In a chunk of text, each run of consecutive lines that all have the block shape, with
    departments and jobs among the given ids, becomes one Block; the other lines are handed
    back to be checked one by one (fast check, then the schema), in order. A chunk with a
    quote or a carriage return outside the runs goes line by line entirely, since only there
    can a record span lines. tests/test_fast_check.py proves that what it accepts, the line
    by line checks accept with the same values.
    """

    def __init__(self, departments: frozenset, jobs: frozenset):
        """departments and jobs: the ids that exist, as integers and as their text."""
        line = ",".join((_FAST_PATTERNS[Int32][1:-1], _BLOCK_TEXT, _BLOCK_INSTANT,
                         one_of(_texts(departments)), one_of(_texts(jobs))))  # fmt: skip
        self._parts = re.compile(rf"(?P<run>(?:{line}\n)+)|[^\n]*\n|[^\n]+")

    @staticmethod
    def usable(departments: frozenset, jobs: frozenset) -> bool:
        """Whether the parents are few enough for their ids to be part of the regex."""
        return max(len(_texts(departments)), len(_texts(jobs))) <= BLOCK_PARENTS_MAX

    def __call__(self, first_line: int, text: str) -> list | None:
        """Blocks and single lines standing for the text, or None to go line by line."""
        parts: list = []
        line = first_line
        for match in self._parts.finditer(text):
            part = match.group()
            if match.lastgroup == "run":
                count = part.count("\n")
                parts.append(Block(line, count, part.replace(",", "\t")))
                line += count
            elif '"' in part or "\r" in part:
                return None
            else:
                parts.append(part)
                line += 1
        return parts


def _texts(ids) -> list[str]:
    return [i for i in ids if type(i) is str]

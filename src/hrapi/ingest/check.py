"""The check: a chunk of records against the data dictionary, a column at a time.

One fast check for CSV chunks and JSON batches alike. Each column of a chunk is checked whole
with a few calls into C (types, lengths, one regex over a column's datetimes, membership of
department and job ids in the locked parents); only a column that fails is gone through value
by value, to find its rows. The rows it vouches for become COPY text as they are. Every other
row goes to the Marshmallow schemas (row_schemas), which decide it field by field and word
every problem with its code; the fast check only ever accepts, so it never changes what is
valid. tests/test_fast_check.py proves over generated corpora of every dialect that what it
accepts, the schema accepts with the same values (and PostgreSQL stores the same instants).
"""

from __future__ import annotations

import functools
import gc
import operator
import re
from dataclasses import dataclass, field
from itertools import compress, repeat

from marshmallow import ValidationError

from hrapi.ingest.column_rules import (
    C1_CONTROLS,
    NO_ZONE,
    NO_ZONE_MESSAGE,
    NOT_UTF8_HINT,
    as_copy_text,
    c1_message,
    failing,
    indices_of,
    known_problems,
    utf8_message,
    utf8_reading,
    value_passes,
    with_single_byte_cells,
)
from hrapi.ingest.rejects import Rejected, in_brief
from hrapi.ingest.row_schemas import (
    MISSING,
    ROW_SCHEMAS,
    Text,
    UtcInstant,
    code_of,
    field_errors,
)
from hrapi.ingest.sources import DELIMITERS, SINGLE_BYTE, Chunk
from hrapi.tables import Table

_ESCAPED_BYTES = re.compile("[\udc00-\udcff]")  # bytes the file's encoding could not decode
PARENTS_MAX = 100_000  # more departments or jobs than this: references are checked in SQL
DECISIONS_BETWEEN_COLLECTIONS = 1000  # schema decisions between two collections (_collect)


@dataclass
class Checked:
    """What the check made of a chunk: the rows it vouches for (`rows`: their values as COPY
    text, in table column order, but for a JSON batch's integers, which stay integers;
    `positions`: where they were), the rows the schema found valid though not plain (`typed`:
    position, values), and the rejects. row_format: each row's COPY line as a `%` format,
    when its values are not all text (a JSON batch's)."""

    received: int
    rows: list
    positions: list[int]
    typed: list[tuple] = field(default_factory=list)
    rejects: list[Rejected] = field(default_factory=list)
    row_format: str | None = None

    @property
    def plain(self) -> int:
        return len(self.rows)

    def copy_text(self) -> str:
        """The plain rows as COPY text (table column order)."""
        if not self.rows:
            return ""
        if self.row_format is not None:  # a JSON batch's: one format a row, no text made first
            return "".join(map(self.row_format.__mod__, self.rows))
        return "\n".join(map("\t".join, self.rows)) + "\n"


class RowCheck:
    """Checks a table's chunks. parents: {column: the ids that exist, as integers and as
    text}, for the references to check here (None: they are checked in SQL, or there are
    none). encoding: the CSV file's, named in the reject of bytes not valid in it. With
    fast=False every row goes to the schema (the reference the tests compare with)."""

    def __init__(self, table: Table, parents: dict | None = None, encoding: str = "utf-8", *,
                 delimiter: str = ",", fast: bool = True):  # fmt: skip
        self.table = table
        self.delimiter = DELIMITERS[delimiter]  # the CSV's, by its option name
        self.fast = fast
        self.columns = table.columns
        self.kinds, self._field_schemas, self._cached_field = _field_checks(table.name)
        self.parents = parents or {}
        self.allowed = [self.parents.get(c) for c in table.columns]
        self._kind_of = dict(zip(table.columns, self.kinds, strict=True))
        self._row_format = "\t".join(["%s"] * len(self.columns)) + "\n"  # see Checked
        hint = NOT_UTF8_HINT if encoding == "utf-8" else ""
        self._not_decodable = f"Holds bytes that are not valid {encoding.upper()}{hint}."
        self._single_byte = encoding if encoding in SINGLE_BYTE else None  # see column_rules
        self._decisions = 0  # the schema's, since the young garbage was last collected

    # -- the fast check, a column at a time -------------------------------------------------

    def chunk(self, chunk: Chunk, source: str) -> Checked:
        rows, count, width = chunk.rows, len(chunk.rows), len(self.columns)
        if source == "csv":
            odd = [] if set(map(len, rows)) <= {width} else [
                i for i, row in enumerate(rows) if len(row) != width]  # fmt: skip
            blank = [i for i in odd if not rows[i]]  # empty lines: no record at all
        else:
            odd = [] if None not in rows else indices_of(rows, None)
            blank = []
        whole, at = rows, None  # the rows of the table's width, and where they are
        if odd:
            mask = _mask(count, odd)
            whole, at = list(compress(rows, mask)), list(compress(range(count), mask))
        columns = list(zip(*whole))  # noqa: B905 - all of the table's width
        if chunk.order is not None and columns:
            columns = [columns[i] for i in chunk.order]
            whole = rows = None  # made again from the columns, in table order
        texts = source == "csv"  # every value is text: no type to check
        suspect: dict[int, list | None] = dict.fromkeys(odd)  # row: its failing columns
        known: dict[int, list] = {}  # row: each failing cell's problem, where known (else None)
        if not self.fast:
            suspect.update(dict.fromkeys(range(count)))
        else:
            for c, values in enumerate(columns):
                cells_failing = failing(values, self.kinds[c], self.allowed[c], texts)
                if self._single_byte and texts and self.kinds[c] is Text:
                    cells_failing = with_single_byte_cells(values, cells_failing,
                                                           self._single_byte)  # fmt: skip
                problems = (known_problems(values, cells_failing, self.kinds[c], self.columns[c])
                            if texts else repeat(None))  # fmt: skip
                for k, problem in zip(cells_failing, problems):  # noqa: B905 - repeat is endless
                    i = k if at is None else at[k]
                    cells = suspect.setdefault(i, [])
                    if cells is not None:
                        cells.append(c)
                        known.setdefault(i, []).append(problem)
        positions = chunk.positions()
        checked = Checked(count - len(blank) + len(chunk.rejects), [], positions,
                          rejects=list(chunk.rejects),
                          row_format=None if texts else self._row_format)  # fmt: skip
        for i in blank:
            del suspect[i]
        for i in sorted(suspect):
            problems = known.get(i)
            if problems is not None and None not in problems:  # what _decide would say
                checked.rejects.append(Rejected(positions[i], chunk.raw(i), tuple(problems)))
                continue
            outcome = self._decide(chunk, i, source, positions[i], suspect[i])
            (checked.rejects if type(outcome) is Rejected else checked.typed).append(outcome)
            self._decisions += 1
        if self._decisions >= DECISIONS_BETWEEN_COLLECTIONS:
            self._collect()
        for i in blank:
            suspect[i] = None
        copied = [as_copy_text(values, kind)
                  for values, kind in zip(columns, self.kinds, strict=False)]  # fmt: skip
        if whole is None or any(map(operator.is_not, copied, columns)):
            whole = list(zip(*copied))  # noqa: B905 - one value a row in each
            if odd:  # the rows of the table's width, made again: put back where they were
                rows = [None] * count
                for i, row in zip(at, whole, strict=True):
                    rows[i] = row
            else:
                rows = whole
        if suspect:
            mask = _mask(count, suspect)
            checked.positions = list(compress(positions, mask))
            checked.rows = list(compress(rows, mask))
        else:
            checked.rows = rows
        return checked

    def _collect(self) -> None:
        """Free the reference cycles the schema's refusals leave (errors, tracebacks, frames:
        about 2.6 KB a row), which nothing else frees while a load pauses the collector
        (pipeline._collector_paused; the helpers inherit the pause): a file of a million rows
        the schema refused grew each helper by 2 GB. Only the young generation is collected:
        what was made since the last collection."""
        self._decisions = 0
        if not gc.isenabled():
            gc.collect(0)

    # -- the schema, for every row the fast check does not vouch for ------------------------

    def _decide(self, chunk: Chunk, index: int, source: str, position: int, cells):
        """(position, values) for a valid row, else its Rejected with every problem.
        cells: the columns the fast check failed in a CSV row (None: all to be checked)."""
        errors: list[tuple] = []
        values: list = []
        row = chunk.rows[index]
        if source == "csv":
            if len(row) != len(self.columns):
                code = "missing-cell" if len(row) < len(self.columns) else "extra-cell"
                expected = f"{len(self.columns)} fields ({','.join(self.columns)})"
                errors.append((None, code, f"Expected {expected}, got {len(row)}."
                                           f"{self._delimiter_hint(row)}"))  # fmt: skip
            else:
                if chunk.order is not None:
                    row = [row[i] for i in chunk.order]
                values = list(row)  # the cells the fast check passed are COPY text as they are
                for c in range(len(row)) if cells is None else cells:
                    values[c] = self._csv_field(self.columns[c], row[c], errors, cells is None)
        else:
            values = self._json_fields(chunk.objects[index], errors)
        if errors:
            return Rejected(position, chunk.raw(index), tuple(errors))
        return (position, tuple(values))

    def _delimiter_hint(self, record: list) -> str:
        """For a record read as one field: another delimiter that splits it into the table's
        fields, if one does (a ;-delimited file sent without delimiter=;, every line a reject)."""
        width = len(self.columns)
        if len(record) != 1 or width < 2:
            return ""
        for name, char in DELIMITERS.items():
            if char != self.delimiter and record[0].count(char) == width - 1:
                shown = "tabs" if name == "tab" else f"'{char}'"
                return (f" Split at {shown} it has {width}: if that is the file's delimiter, "
                        f"send delimiter={name}.")  # fmt: skip
        return ""

    def _csv_field(self, column: str, text: str, errors: list, unchecked: bool = True):
        if not text:
            errors.append((column, "missing-cell", MISSING))
            return None
        if self._single_byte and (meant := utf8_reading(text, self._single_byte)) is not None:
            errors.append((column, "encoding-error", utf8_message(meant, self._single_byte)))
            return None
        if _ESCAPED_BYTES.search(text):
            errors.append((column, "encoding-error", self._not_decodable))
            return None
        if self._single_byte == "latin-1" and (control := C1_CONTROLS.search(text)):
            errors.append((column, "encoding-error", c1_message(control.group())))
            return None
        return self._value(column, text, errors, unchecked)

    def _json_fields(self, row, errors: list) -> list:
        if type(row) is not dict:
            errors.append((None, "type-error", "Row must be a JSON object with the table's "
                                               f"fields ({', '.join(self.columns)})."))  # fmt: skip
            return []
        unknown = [key for key in row if key not in self.columns]
        if unknown:
            errors.append((None, "extra-cell", _unknown_fields(unknown)))
        values = []
        for column in self.columns:
            if column in row:
                values.append(self._value(column, row[column], errors))
            else:
                errors.append((column, "missing-cell", MISSING))
        return values

    def _value(self, column: str, value, errors: list, unchecked: bool = True):
        """A field's value as loaded by the schema (asked once per distinct value), with
        the reference checked where the parents are known."""
        kind = self._kind_of[column]
        if unchecked and value_passes(value, kind, self.parents.get(column)):
            return value  # as COPY text, PostgreSQL reads it as the schema's value
        if self.fast and kind is UtcInstant and type(value) is str and NO_ZONE.fullmatch(value):
            errors.append((column, code_of(NO_ZONE_MESSAGE), NO_ZONE_MESSAGE))  # the schema's
            return None
        try:
            loaded, problems = self._cached_field(column, value)
        except TypeError:  # a value that cannot be a cache key (a JSON list or object)
            loaded, problems = _field(self._field_schemas, column, value)
        if problems:
            errors.extend(problems)
            return None
        allowed = self.parents.get(column)
        if allowed is not None and loaded not in allowed:
            parent = column.removesuffix("_id")
            errors.append((column, "foreign-key", f"{parent} {loaded} does not exist"))
        return loaded


@functools.cache
def _field_checks(table_name: str) -> tuple:
    """A table's field kinds, one schema per field, and the cached schema decision of one
    value (a field's problems depend on its value alone): made once per process (building
    Marshmallow schemas costs more than checking a batch)."""
    schema_class = ROW_SCHEMAS[table_name]
    schema = schema_class()
    kinds = [type(schema.fields[c]) for c in schema.fields]
    field_schemas = {c: schema_class(only=(c,)) for c in schema.fields}
    decide = functools.lru_cache(maxsize=8192, typed=True)(functools.partial(_field, field_schemas))
    return kinds, field_schemas, decide


def _field(field_schemas: dict, column: str, value) -> tuple:
    """(the schema's value, ()) or (None, problems) for one field's value."""
    try:
        loaded = field_schemas[column].load({column: value})
    except ValidationError as error:
        return None, tuple(field_errors(error))
    return loaded[column], ()


def _mask(count: int, left_out) -> list[bool]:
    """True for each index of range(count) not in left_out."""
    mask = [True] * count
    for i in left_out:
        mask[i] = False
    return mask


def _unknown_fields(names: list) -> str:
    return f"Unknown fields: {in_brief(names, escapes=True)}."

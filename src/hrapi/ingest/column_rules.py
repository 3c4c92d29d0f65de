"""The fast check's rules for one column of a chunk, and for one value.

Each rule only ever accepts: a column passes when every value would pass the value's rule,
and what passes is COPY text that PostgreSQL reads as the value the schema (row_schemas) makes
of it. A column is checked whole with a few calls into C (see check); `failing` finds the
cells of a column that does not pass. Also the problems of failing CSV cells known without
asking the schema, and what a latin-1 or cp1252 reading makes of windows-1252 (C1 controls)
and of UTF-8 (two letters for one).
"""

from __future__ import annotations

import re

from hrapi.ingest.rejects import copy_escaped
from hrapi.ingest.row_schemas import (
    INT32_MAX,
    MISSING,
    TEXT_MAX_LENGTH,
    Int32,
    Text,
    UtcInstant,
    code_of,
)

# Datetimes the fast check takes: ISO 8601 with `T`, `t` or a space (PostgreSQL's own text
# output, Python's str()), minutes, seconds if any with up to nine decimals (PostgreSQL rounds
# them to the microsecond as the schema does), and `Z` or an offset within +-14:00 as +HH:MM,
# +HHMM or +HH, perhaps after one space (SQL Server's datetimeoffset); years 1000 to 8999 (so
# that UTC stays within Python's years) and only dates that exist in every year (days up to
# 28, 29 and 30 but in February, 31 in the months that have it). Anything else (February 29,
# other forms) goes to the schema.
_DATETIME = (
    r"[1-8][0-9]{3}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    r"[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,9})?)?"
)
_INSTANT = _DATETIME + r" ?(?:[Zz]|[+-](?:0[0-9]|1[0-3])(?::?[0-5][0-9])?|[+-]14(?::?00)?)"
ONE_INSTANT = re.compile(_INSTANT)
# The same without its zone: the schema refuses such a value as having none (a whole file of
# them is a common export mistake: its rejects are worded without asking the schema per row).
NO_ZONE = re.compile(_DATETIME)
NO_ZONE_MESSAGE = UtcInstant.default_error_messages["no_zone"]
# What latin-1 makes of the bytes 0x80-0x9F, where windows-1252 (which "Latin-1" exports from
# Windows often are) has letters and signs: never text, so a row holding one is rejected
# rather than stored with “ ” € turned into control characters.
C1_CONTROLS = re.compile("[\x80-\x9f]")
# What a UTF-8 file read as latin-1 or cp1252 makes of a letter beyond ASCII: a lead byte and
# a continuation byte (é as Ã©), which both encodings read as letters without a complaint. A
# column's text as latin-1 bytes by kind, for one pass in C: C1 controls (continuation bytes
# too), the other continuation bytes, lead bytes, the rest; "?" counts as a continuation byte,
# since cp1252's letters beyond latin-1 (“ € Š) are encoded as "?" for that pass.
_BYTE_KINDS = bytes(
    ord("1") if 0x80 <= byte <= 0x9F else ord("C") if 0xA0 <= byte <= 0xBF or byte == 0x3F
    else ord("L") if 0xC2 <= byte <= 0xF4 else ord(".") for byte in range(256)
)  # fmt: skip
# Said where a file read as UTF-8 (the default) is not: an export from Windows often is cp1252.
NOT_UTF8_HINT = " (a file from Windows is often cp1252: then send encoding=cp1252)"
_ID = "[1-9][0-9]{0,8}"  # ASCII digits only: str.isdigit takes other scripts' digits too
_INT32_MAX_TEXT = str(INT32_MAX)  # ten digits: compared as text with ten-digit ids
_ID_TEN = "[1-9][0-9]{0,9}"  # ten digits too: then the column's largest is compared with int32's


def _one_a_line(pattern: str) -> re.Pattern:
    """A column's values joined by line breaks, each matching pattern. The repetition is
    possessive: a line matched is never gone over again (a few percent faster)."""
    return re.compile(rf"{pattern}(?:\n{pattern})*+")


NO_ZONE_LINES = _one_a_line(NO_ZONE.pattern)
_INSTANT_LINES = _one_a_line(_INSTANT)
_ID_LINES = _one_a_line(_ID)
_ID_TEN_LINES = _one_a_line(_ID_TEN)


def failing(values: tuple, kind, allowed, texts: bool) -> list[int]:
    """The indices of a column's values that the fast check does not vouch for (texts: the
    values are all text, as CSV values are). Empty cells, the common defect, are looked for
    first, except among a JSON batch's ids (numbers: an empty text is found value by value)."""
    if ((texts or kind is not Int32) and "" in values
            and (texts or set(map(type, values)) == {str})):  # fmt: skip
        empties = indices_of(values, "")
        if column_passes(tuple(filter(None, values)), kind, allowed, texts=True, filled=True):
            return empties
    elif column_passes(values, kind, allowed, texts=texts, filled=texts):
        return []
    if kind is UtcInstant and (texts or set(map(type, values)) == {str}):
        return indices_of(list(map(ONE_INSTANT.fullmatch, values)), None)
    flags = [value_passes(value, kind, allowed) for value in values]
    return indices_of(flags, False)


def indices_of(values, item) -> list[int]:
    found, start = [], 0
    try:
        while True:
            start = values.index(item, start)
            found.append(start)
            start += 1
    except ValueError:
        return found


def column_passes(values: tuple, kind, allowed, *, texts: bool, filled: bool) -> bool:
    """A whole column passes the fast rules (each value would pass _value_passes). texts:
    all values are text; filled: none is empty. The values of a text or datetime column are
    joined first, which refuses anything but text (a JSON batch's other values) as cheaply
    as their types would be gathered."""
    if not values:
        return True
    if kind is Int32:
        types = {str} if texts else set(map(type, values))
        if allowed is not None:  # the parents' ids, as integers and their plain text
            return types in ({str}, {int}) and allowed.issuperset(values)
        if types == {str}:  # plain digits: no sign, no leading zero, at most nine (or ten)
            lines = "\n".join(values)  # one id a line, if no value holds a line break itself
            if lines.count("\n") != len(values) - 1:
                return False
            if _ID_LINES.fullmatch(lines):
                return True
            return bool(_ID_TEN_LINES.fullmatch(lines)) and max(map(int, values)) <= INT32_MAX
        return types == {int} and min(values) > 0 and max(values) <= INT32_MAX  # not bool
    try:  # a datetime column: one instant a line, if no value holds a line break itself
        text = "".join(values) if kind is Text else "\n".join(values)
    except TypeError:  # a value that is not text
        return False
    if kind is Text:
        return (_storable(text) and (filled or "" not in values)
                and max(map(len, values)) <= TEXT_MAX_LENGTH
                and not any(map(str.isspace, values)))  # fmt: skip
    if text.count("\n") != len(values) - 1:
        return False
    return instants_alike(text, len(values)) or _INSTANT_LINES.fullmatch(text) is not None


# A column of datetimes all written alike (one export writes every value in one form) is
# checked as bytes, a field at a time across the column (about a third of the regex's time):
# its values' shape (digits as 9) must be the same and one ONE_INSTANT takes, and each field's
# digits within their range. Anything else (another shape, a value out of range, an offset of
# 14 hours) is left to the regex, which decides.
_AS_NINES = bytes.maketrans(b"0123456789", b"9" * 10)
_INSTANT_SHAPE = re.compile(rb"9999-99-99[Tt ]99:99(?::99(?:\.9{1,9})?)? ?(?:[Zz]|[+-]99(?::?99)?)")
_DIGIT_VALUES = bytes.maketrans(b"0123456789", bytes(range(10)))
_MONTH_KINDS = bytes(0 if not 1 <= m <= 12 else 1 if m == 2 else 2 if m in (4, 6, 9, 11) else 3
                     for m in range(256))  # fmt: skip  # none, February, 30 days, 31 days
_DAY_KINDS = bytes(0 if 1 <= d <= 28 else 1 if d in (29, 30) else 2 if d == 31 else 3
                   for d in range(256))  # fmt: skip  # 1-28, 29-30, 31, none
_DATES = bytes(  # a month's kind times 4 and a day's kind, for the days each kind of month has
    4 * month + day for month, last in ((1, 0), (2, 1), (3, 2)) for day in range(last + 1)
)
_HOURS, _OFFSET_HOURS = bytes(range(24)), bytes(range(14))


def instants_alike(lines: str, count: int) -> bool:
    """Whether count datetimes joined by line breaks are all of one shape and each passes
    ONE_INSTANT (False: not known, see above)."""
    width = (len(lines) + 1) // count  # each value and its line break
    if width * count != len(lines) + 1 or not lines.isascii():
        return False
    data = (lines + "\n").encode("ascii")
    shape = data[: width - 1].translate(_AS_NINES)
    if not _INSTANT_SHAPE.fullmatch(shape) or data.translate(_AS_NINES) != (shape + b"\n") * count:
        return False
    months = _digits(data, 5, width).translate(_MONTH_KINDS)
    days = _digits(data, 8, width).translate(_DAY_KINDS)
    if (data[0::width].translate(None, b"12345678")  # years 1000-8999
            or _lanes(months, 4, days).translate(None, _DATES)  # days the month has
            or _digits(data, 11, width).translate(None, _HOURS)
            or _over_59(data, 14, width)
            or (shape[16:17] == b":" and _over_59(data, 17, width))):  # fmt: skip
        return False
    sign = max(shape.find(b"+", 16), shape.find(b"-", 16))  # -1: Z
    if sign < 0:
        return True
    if _digits(data, sign + 1, width).translate(None, _OFFSET_HOURS):  # +14: the regex
        return False
    minutes = sign + 3 + (shape[sign + 3 : sign + 4] == b":")  # +HH:MM, +HHMM or +HH
    return minutes >= len(shape) or not _over_59(data, minutes, width)


def _digits(data: bytes, at: int, width: int) -> bytes:
    """The two-digit numbers at `at` of each record of data, a byte each."""
    return _lanes(data[at::width].translate(_DIGIT_VALUES), 10,
                  data[at + 1 :: width].translate(_DIGIT_VALUES))  # fmt: skip


def _lanes(high: bytes, factor: int, low: bytes) -> bytes:
    """high * factor + low, byte by byte (no byte overflows: the callers' values are small)."""
    total = int.from_bytes(high, "big") * factor + int.from_bytes(low, "big")
    return total.to_bytes(len(high), "big")


def _over_59(data: bytes, at: int, width: int) -> bool:
    """Whether the two-digit number at `at` of any record is over 59."""
    return bool(data[at::width].translate(None, b"012345"))


def _storable(text: str) -> bool:
    """No NUL and no lone surrogate (which UTF-8 cannot encode: the test runs in C)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def value_passes(value, kind, allowed) -> bool:
    """One value against the fast rules."""
    if kind is Int32:
        if type(value) is str:
            fits = 0 < len(value) < 10 or (len(value) == 10 and value <= _INT32_MAX_TEXT)
            ok = fits and value.isascii() and value.isdigit() and value[0] != "0"
        elif type(value) is int:
            ok = 0 < value <= INT32_MAX
        else:
            return False
        return ok and (allowed is None or value in allowed)
    if type(value) is not str:
        return False
    if kind is Text:
        return 0 < len(value) <= TEXT_MAX_LENGTH and not value.isspace() and _storable(value)
    return ONE_INSTANT.fullmatch(value) is not None


def as_copy_text(values: tuple, kind) -> tuple:
    """A checked column's values as fields of COPY's text format. JSON integers stay integers:
    `%s` writes them as `str()` does when the rows are formatted (check.Checked.copy_text),
    and the same tuple left as it is spares making the rows again (check.RowCheck.chunk)."""
    if kind is Int32:
        return values
    if kind is Text:
        try:
            text = "".join(values)
        except TypeError:  # JSON values that are not text, in rows the check refused
            return tuple(copy_escaped(v) if type(v) is str else v for v in values)
        if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
            return tuple(map(copy_escaped, values))
    return values


def known_problems(values: tuple, cells: list[int], kind, column: str) -> list:
    """The problem of each failing cell of a CSV column that is known without asking the
    schema, worded as the check words it (None where the schema must say): an empty cell, a
    datetime without a time zone (a whole file of them is a common export mistake: one regex
    over the column's failing cells then words them all)."""
    missing = (column, "missing-cell", MISSING)
    if kind is not UtcInstant:
        return [None if values[k] else missing for k in cells]
    texts = [values[k] for k in cells]
    no_zone = (column, code_of(NO_ZONE_MESSAGE), NO_ZONE_MESSAGE)
    filled = list(filter(None, texts))
    lines = "\n".join(filled)
    if filled and lines.count("\n") == len(filled) - 1 and NO_ZONE_LINES.fullmatch(lines):
        return [no_zone if text else missing for text in texts]
    return [missing if not text else no_zone if NO_ZONE.fullmatch(text) else None
            for text in texts]  # fmt: skip


def with_single_byte_cells(values: tuple, cells: list[int], encoding: str) -> list[int]:
    """The failing cells of a text column read as latin-1 or cp1252, with those whose bytes
    are UTF-8 beyond ASCII (utf8_reading) and, in latin-1, those holding a C1 control. The
    column is looked at as bytes (a regex over its text took seven times as long: 0.1 us a
    row)."""
    text = "".join(values)
    if text.isascii():
        return cells
    kinds = text.encode("latin-1", "replace").translate(_BYTE_KINDS)  # the latin-1 encoder is
    c1 = encoding == "latin-1" and b"1" in kinds  # several times faster than cp1252's
    if not c1 and b"L1" not in kinds and b"LC" not in kinds:
        return cells
    more = [k for k, value in enumerate(values) if not value.isascii() and (
        (c1 and C1_CONTROLS.search(value)) or utf8_reading(value, encoding))]  # fmt: skip
    return sorted({*cells, *more})


def utf8_reading(text: str, encoding: str) -> str | None:
    """What a text read as latin-1 or cp1252 says in UTF-8, if its bytes are UTF-8 beyond
    ASCII (a UTF-8 file sent as a single-byte encoding), else None."""
    if text.isascii():
        return None
    try:
        return text.encode(encoding, "surrogateescape").decode("utf-8")
    except UnicodeError:
        return None


def utf8_message(meant: str, encoding: str) -> str:
    return (f"Holds UTF-8 read as {encoding} ({meant!r} in UTF-8): if the file is UTF-8, send "
            f"encoding=utf-8.")  # fmt: skip


def c1_message(control: str) -> str:
    byte = bytes([ord(control)])
    meant = byte.decode("cp1252", "replace")
    return (f"Holds the control character U+{ord(control):04X} (the byte 0x{byte.hex().upper()}"
            f"), which windows-1252 reads as {meant!r}: if the file is windows-1252, send "
            "encoding=cp1252.")  # fmt: skip

"""The data dictionary: one Marshmallow schema per table, and the code of every message.

These schemas are the single source of truth for what a valid row is: CSV files, JSON batches,
backups and the OpenAPI page all use them. A field's messages are the reasons a rejected row
is logged with; `code_of` gives each message its Frictionless code (type-error, ...).
"""

from __future__ import annotations

import datetime as dt
import re

from marshmallow import Schema, ValidationError, fields

INT32_MAX = 2_147_483_647
TEXT_MAX_LENGTH = 1000
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
_DECIMAL_INTEGER = re.compile(r"[0-9]+\.0+\Z")  # 7.0: an integer written as a decimal
_BARE_DATE = re.compile(r"[0-9]{4}-?[0-9]{2}-?[0-9]{2}")  # 2021-07-27, 20210727
_EPOCH = re.compile(r"[0-9]{9,}(?:\.[0-9]*)?")  # seconds (or milliseconds) since 1970
# One space between a time and its zone (SQL Server writes `2021-07-27 16:02:08.1234567 +00:00`),
# which Python reads after some fractions of a second and not after others (.123).
_SPACE_BEFORE_ZONE = re.compile(r"(:[0-9]{2}(?:[.,][0-9]+)?) (Z|[+-][0-9]{2}(?::?[0-9]{2})?)\Z")
# A fraction of a second finer than a microsecond: .NET writes seven digits, Java and Go nine.
_FINER_THAN_MICROSECONDS = re.compile(r"[.,]([0-9]{7,})")
# Text that cannot be stored as UTF-8: lone surrogates. Bytes of a file that were not valid in
# its encoding show up as \udc00-\udcff (see sources.UNDECODABLE); a JSON string may
# hold any surrogate as an escape (\ud800).
NOT_UTF8 = re.compile("[\ud800-\udfff]")

MISSING = "Missing data for required field."  # marshmallow's own words for an absent field


class Int32(fields.Field):
    """An integer in 1..2147483647: a JSON integer, or its plain decimal text (CSV).

    Refused: booleans, floats (even 3.0: an export that wrote its integers as decimals, as
    pandas does for a column with a missing value, is told how to write them), padded or
    signed text (" 7", "+7", "007"), words.
    """

    default_error_messages = {  # noqa: RUF012 - marshmallow's own convention
        "invalid": "Not a valid integer.",
        "decimal": "Not a valid integer: write it without a decimal point (7, not 7.0).",
        "padded": "Not a valid integer: remove the spaces around it.",
        "leading_zero": "Not a valid integer: write it without leading zeros.",
        "sign": "Not a valid integer: write it without a sign.",
        "range": f"Must be between 1 and {INT32_MAX}.",
    }

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, str):
            value = self._from_text(value)
        elif isinstance(value, float) and value.is_integer():
            raise self.make_error("decimal")
        elif not isinstance(value, int):
            raise self.make_error("invalid")
        if not 1 <= value <= INT32_MAX:
            raise self.make_error("range")
        return value

    def _from_text(self, text: str) -> int:
        if not _INTEGER.match(text):
            if _DECIMAL_INTEGER.match(text):
                raise self.make_error("decimal")
            raise self.make_error("padded" if _INTEGER.match(text.strip()) else "invalid")
        if text[0] == "-":
            raise self.make_error("range")
        if text[0] == "+":
            raise self.make_error("sign")
        if len(text) > 1 and text[0] == "0":
            raise self.make_error("leading_zero")
        if len(text) > 11:  # longer than any int32, and int() of huge text is slow
            raise self.make_error("range")
        return int(text)

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class Text(fields.String):
    """Non-empty text of at most 1000 characters that PostgreSQL can store."""

    default_error_messages = {  # noqa: RUF012
        "blank": "Must not be empty.",
        "too_long": f"Longer than {TEXT_MAX_LENGTH} characters.",
        "nul": "Contains a NUL character.",
        "encoding": "Is not valid UTF-8.",
    }

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.strip():
            raise self.make_error("blank")
        if len(text) > TEXT_MAX_LENGTH:
            raise self.make_error("too_long")
        if "\x00" in text:
            raise self.make_error("nul")
        if NOT_UTF8.search(text):
            raise self.make_error("encoding")
        return text


class UtcInstant(fields.DateTime):
    """An ISO 8601 date and time with a time zone (`Z` or an offset, perhaps after a space),
    returned in UTC; a fraction finer than a microsecond is rounded as PostgreSQL rounds it."""

    default_error_messages = {  # noqa: RUF012
        "invalid": "Not a valid ISO 8601 datetime with a time zone (such as 2021-07-27T16:02:08Z).",
        "impossible": "Not a valid ISO 8601 datetime with a time zone: {reason}.",
        "no_zone": "Not a valid ISO 8601 datetime with a time zone: it has none "
        "(add Z or an offset such as +00:00).",
        "out_of_range": "Is outside the years 1 to 9999 in UTC.",
        "number": "Not a valid ISO 8601 datetime with a time zone: a number (seconds since "
        "1970?) is not one; send text such as 2021-07-27T16:02:08Z (pandas: to_json with "
        "date_format='iso').",
        "date_only": "Not a valid ISO 8601 datetime with a time zone: a date without a time "
        "(midnight in UTC is 2021-07-27T00:00:00Z).",
        "padded": "Not a valid ISO 8601 datetime with a time zone: remove the spaces around it.",
    }

    def _deserialize(self, value, attr, data, **kwargs) -> dt.datetime:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise self.make_error("number")  # what pandas' to_json writes by default
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return self._instant(value)
        except ValidationError:
            if value.strip() == value:
                raise
            try:  # an instant but for the spaces around it?
                self._instant(value.strip())
            except ValidationError:
                raise self.make_error("invalid") from None
            raise self.make_error("padded") from None

    def _instant(self, value: str) -> dt.datetime:
        if "T" not in value.upper() and " " not in value:  # a bare date is not an instant
            if _BARE_DATE.fullmatch(value):
                raise self.make_error("date_only")
            raise self.make_error("number" if _EPOCH.fullmatch(value) else "invalid")
        if value.endswith("z"):  # RFC 3339 allows a lower-case z, which Python does not read
            value = value[:-1] + "Z"
        value = _SPACE_BEFORE_ZONE.sub(r"\1\2", value, count=1)
        try:
            instant = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            reason = str(exc)
            if reason.startswith("Invalid isoformat string"):
                raise self.make_error("invalid") from exc
            raise self.make_error("impossible", reason=reason) from exc
        if instant.utcoffset() is None:
            raise self.make_error("no_zone")
        finer = _FINER_THAN_MICROSECONDS.search(value)
        try:
            if finer:
                instant = _rounded_to_microseconds(instant, finer.group(1))
            return instant.astimezone(dt.UTC)
        except OverflowError as exc:
            raise self.make_error("out_of_range") from exc

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else iso_utc(value)


def _rounded_to_microseconds(instant: dt.datetime, digits: str) -> dt.datetime:
    """The instant with its fraction of a second (digits) rounded to the microsecond as
    PostgreSQL rounds it, rint(strtod(fraction) * 1e6) (half to even, on the double), where
    Python's fromisoformat cuts it: a row stores the same instant whether PostgreSQL reads its
    text or the schema's value is written."""
    microseconds = round(float("0." + digits) * 1_000_000)
    return instant.replace(microsecond=0) + dt.timedelta(microseconds=microseconds)


def iso_utc(instant: dt.datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as the historical files write it."""
    return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class DepartmentRow(Schema):
    """A department: id and name."""

    id = Int32(required=True, metadata={"example": 1})
    department = Text(required=True, metadata={"example": "Supply Chain"})


class JobRow(Schema):
    """A job: id and title."""

    id = Int32(required=True, metadata={"example": 1})
    job = Text(required=True, metadata={"example": "Recruiter"})


class HiredEmployeeRow(Schema):
    """A hire: who, when (UTC), into which department and job (both must exist)."""

    id = Int32(required=True, metadata={"example": 1})
    name = Text(required=True, metadata={"example": "Harold Vogt"})
    datetime = UtcInstant(required=True, metadata={"example": "2021-11-07T02:48:42Z"})
    department_id = Int32(required=True, metadata={"example": 2})
    job_id = Int32(required=True, metadata={"example": 96})


ROW_SCHEMAS: dict[str, type[Schema]] = {
    "departments": DepartmentRow,
    "jobs": JobRow,
    "hired_employees": HiredEmployeeRow,
}

# The Frictionless code of each message (see the README's reject codes).
_CODES = {
    MISSING: "missing-cell",
    "Field may not be null.": "missing-cell",
    "Not a valid string.": "type-error",
    "Unknown field.": "extra-cell",
    Text.default_error_messages["blank"]: "constraint-error",
    Text.default_error_messages["too_long"]: "constraint-error",
    Text.default_error_messages["nul"]: "constraint-error",
    Text.default_error_messages["encoding"]: "constraint-error",
    Int32.default_error_messages["range"]: "constraint-error",
    UtcInstant.default_error_messages["no_zone"]: "constraint-error",
    UtcInstant.default_error_messages["out_of_range"]: "constraint-error",
}


def code_of(message: str) -> str:
    """The Frictionless code of a schema message (type-error unless known otherwise)."""
    return _CODES.get(message, "type-error")


def field_errors(error: ValidationError) -> list[tuple[str | None, str, str]]:
    """Marshmallow's messages as (field, code, message), in field order."""
    messages = error.messages
    if not isinstance(messages, dict):
        return [(None, code_of(str(m)), str(m)) for m in messages]
    found = []
    for field_name, field_messages in messages.items():
        items = field_messages if isinstance(field_messages, list) else [field_messages]
        found.extend((field_name, code_of(str(m)), str(m)) for m in items)
    return found

"""The data dictionary: one Marshmallow schema per table.

These schemas are the single source of truth for what a valid row is. The CSV path, the JSON
batch path and the OpenAPI page all use them. A field's messages are the reasons a rejected
row is logged with.
"""

from __future__ import annotations

import datetime as dt
import re

from marshmallow import Schema, ValidationError, fields

INT32_MAX = 2_147_483_647
TEXT_MAX_LENGTH = 1000
_CANONICAL_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)\Z")
# Text that cannot be stored as UTF-8: lone surrogates. Bytes of a file that were not UTF-8
# show up as \udc80-\udcff (decoded with "surrogateescape"); a JSON string may hold any
# surrogate as an escape (\ud800).
NOT_UTF8 = re.compile("[\ud800-\udfff]")


class Int32(fields.Field):
    """An integer in 1..2147483647: a JSON integer, or its canonical decimal text (CSV).

    Refused: booleans, floats (even 3.0), padded or signed text (" 7", "+7", "007"), words.
    """

    default_error_messages = {  # noqa: RUF012 - marshmallow's own convention
        "invalid": "Not a valid integer.",
        "range": f"Must be between 1 and {INT32_MAX}.",
    }

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, str):
            if not _CANONICAL_INTEGER.match(value):
                raise self.make_error("invalid")
            if len(value) > 11:  # longer than any int32, and int() of huge text is slow
                raise self.make_error("range")
            value = int(value)
        elif not isinstance(value, int):
            raise self.make_error("invalid")
        if not 1 <= value <= INT32_MAX:
            raise self.make_error("range")
        return value

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


class UtcInstant(fields.AwareDateTime):
    """An ISO 8601 date and time with a time zone (`Z` or an offset), returned in UTC."""

    default_error_messages = {  # noqa: RUF012
        "invalid_awareness": "Not a valid ISO 8601 datetime with a time zone.",
        "invalid": "Not a valid ISO 8601 datetime with a time zone.",
        "out_of_range": "Is outside the years 1 to 9999 in UTC.",
    }

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> dt.datetime:
        if not isinstance(value, str) or ("T" not in value.upper() and " " not in value):
            raise self.make_error("invalid")  # a bare date is not an instant
        instant = super()._deserialize(value, attr, data, **kwargs)
        try:
            return instant.astimezone(dt.UTC)
        except OverflowError as exc:
            raise self.make_error("out_of_range") from exc

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else iso_utc(value)


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


def reasons_from(error: ValidationError) -> list[str]:
    """Flatten Marshmallow's messages into 'field: message' lines, in field order."""
    messages = error.messages
    if not isinstance(messages, dict):
        return [str(m) for m in messages]
    reasons = []
    for field_name, field_messages in messages.items():
        items = field_messages if isinstance(field_messages, list) else [field_messages]
        reasons.extend(f"{field_name}: {message}" for message in items)
    return reasons

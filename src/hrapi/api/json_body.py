"""JSON request bodies, decoded by orjson where it gives exactly what the json module gives.

orjson is several times faster on a batch's body (docs/performance.md); the two differ on a
few inputs, and there the json module decides, so that every body means what it would mean
to the json module:

- orjson refuses NaN, Infinity, numbers beyond the float range, lone surrogates (\\ud800),
  and nesting deeper than 1024: then the json module reads the body (and accepts it or words
  the error); nesting too deep for the json module (RecursionError) is an invalid body, not a
  server error;
- orjson reads an integer outside the 64-bit range as a float, where json keeps the integer:
  a body with a run of 19 digits or more goes to the json module without asking orjson.

tests/test_json_body.py proves the two agree, value and type, over generated documents.

A body that cannot be read is a 400 that says why and where (the json module's words: line
and column), or that it is not UTF-8, the only encoding JSON is sent in (RFC 8259); a UTF-8
byte order mark, which Windows tools write, is skipped as RFC 8259 allows.
"""

from __future__ import annotations

import json

import orjson
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest import abort
from marshmallow import ValidationError
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from hrapi.ingest.sources import UTF8_BOM, UTF16_BOMS

_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= c <= 0x39 else 0x20 for c in range(256))
_LONG_DIGIT_RUN = b"0" * 19  # after _DIGITS_AS_ZERO: 19 digits in a row


def loads(body: bytes):
    """A JSON body as the json module reads it (raising json.JSONDecodeError as webargs'
    parse_json does, for the same bodies)."""
    if body.startswith(UTF8_BOM):
        body = body[len(UTF8_BOM) :]
    if _LONG_DIGIT_RUN not in body.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # the json module decides, and words the error
    try:
        return core.parse_json(body)
    except RecursionError:
        doc = body.decode("utf-8", "replace")  # not empty: webargs reads "" as no body
        raise json.JSONDecodeError("nested too deeply", doc, 0) from None


class JsonBodyParser(FlaskParser):
    """webargs' Flask parser, with JSON bodies read by loads, and query parameters loaded as
    their schema says (marshmallow's default: an unknown one is a 422 naming it; webargs
    would drop it silently, so that a typo changed nothing without a word). A parameter given
    twice is a 422 naming it too: webargs would take the first and drop the others silently
    (`?on_conflict=update&on_conflict=reject` loaded with `update`)."""

    DEFAULT_UNKNOWN_BY_LOCATION = {  # noqa: RUF012 - webargs' own convention
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None,
    }  # fmt: skip

    def load_querystring(self, req, schema):
        values = super().load_querystring(req, schema)
        repeated = {key: len(given) for key, given in req.args.lists() if len(given) > 1}
        if repeated:  # rare: the schema's fields are looked at only then
            single = {field.data_key or name for name, field in schema.fields.items()}
            single -= values.multiple_keys
            errors = {key: [f"Given {times} times; give it once."]
                      for key, times in repeated.items() if key in single}  # fmt: skip
            if errors:
                raise ValidationError(errors)
        return values

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        return loads(req.get_data(cache=True))

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        abort(400, message=unreadable(req.get_data(cache=True), error))


def unreadable(body: bytes, error: ValueError) -> str:
    """Why a JSON body cannot be read, for its 400."""
    if body[:2] in UTF16_BOMS or b"\x00" in body[:4]:
        return "The request body is UTF-16 or UTF-32 text: send JSON as UTF-8 (RFC 8259)."
    if isinstance(error, UnicodeDecodeError) or error.msg.startswith("Bytes decoding error"):
        start = error.start if isinstance(error, UnicodeDecodeError) else error.pos
        return (f"The request body is not UTF-8 (at byte {start}): send JSON as UTF-8 "
                f"(RFC 8259); a latin-1 or cp1252 export must be converted first.")  # fmt: skip
    return f"The request body is not valid JSON: {error}."


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint, whose arguments read JSON bodies with loads."""

    ARGUMENTS_PARSER = JsonBodyParser()

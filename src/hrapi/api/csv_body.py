"""How an upload's CSV arrives: a raw body that must come whole, the file fields of a multipart
upload, and the encoding and delimiter a body or a file part declares.

File fields are taken strictly: a field the endpoint does not name, a field given twice, or a
known field sent as text instead of a file is a 422 naming it, before anything is loaded
(werkzeug gives the first part of a repeated field and drops the others, and a field it was
not asked for went unread: a second departments file, or a file under a misspelt name, was left
out without a word). A Content-Type's charset (`text/csv; charset=ISO-8859-1`) is the file's
encoding unless the query's `encoding` names one; the two disagreeing, or a charset hrapi does
not read, is a 422 (it was ignored, and every accented row rejected as not UTF-8). A file sent
as text/tab-separated-values is read with `delimiter=tab` unless the query names another (422).
"""

from __future__ import annotations

import io

from flask import request
from flask_smorest import abort
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import ClientDisconnected

from hrapi.ingest.rejects import in_brief
from hrapi.ingest.sources import ENCODINGS, CsvOptions, option_name

TSV = "text/tab-separated-values"


def file_fields(names: tuple[str, ...]) -> dict[str, FileStorage]:
    """The request's files by field name, each of names at most once (422 otherwise)."""
    files, form = request.files, request.form
    unknown = [name for name in dict.fromkeys([*files.keys(), *form.keys()]) if name not in names]
    if unknown:
        abort(422, message=f"Unknown fields: {in_brief(unknown, escapes=True)}; "
                           f"use {', '.join(names)}.")  # fmt: skip
    if texts := list(form.keys()):
        abort(422, message=f"{in_brief(texts)} came as text, not as a file: send the file "
                           f"itself (curl -F '{texts[0]}=@path.csv').")  # fmt: skip
    repeated = [name for name, parts in files.lists() if len(parts) > 1]
    if repeated:
        abort(422, message=f"{in_brief(repeated)} holds more than one file: one file a field "
                           "(each file is a load of its own).")  # fmt: skip
    return {name: files[name] for name in names if name in files}


def declared_options(args: dict, content) -> CsvOptions:
    """A file's CSV options: the query's (args), else what the request or its multipart file
    part (content) declares in its Content-Type, else the defaults."""
    encoding = declared_encoding(content.mimetype_params, args["encoding"])
    delimiter = declared_delimiter(content.mimetype, args["delimiter"])
    return CsvOptions(delimiter or ",", encoding or "utf-8", args["header"])


def declared_delimiter(mimetype: str | None, asked: str | None) -> str | None:
    """The delimiter of a body or a file part: asked (the query's `delimiter`), else `tab`
    for tab-separated values (text/tab-separated-values), else None (the default)."""
    if mimetype != TSV:
        return asked
    if asked not in (None, "tab"):
        abort(422, message=f"The Content-Type says tab-separated values and the query "
                           f"delimiter={asked}: give one of them.")  # fmt: skip
    return "tab"


def declared_encoding(content_type: dict, asked: str | None) -> str | None:
    """The encoding to read a body or a file part in: asked (the query's `encoding`, by its
    name here), else the charset of its Content-Type's parameters, else None (the default)."""
    charset = content_type.get("charset")
    if charset is None:
        return asked
    named = option_name("encoding", charset)
    if named is None:
        abort(422, message=f"The Content-Type's charset {in_brief([charset], escapes=True)} is "
                           f"not an encoding hrapi reads ({', '.join(ENCODINGS)}).")  # fmt: skip
    if asked is not None and asked != named:
        abort(422, message=f"The Content-Type says charset={named} and the query "
                           f"encoding={asked}: give one of them.")  # fmt: skip
    return named


class WholeBody(io.RawIOBase):
    """The request body, which must end where its Content-Length says.

    A body that ends early means the client went away: raising ClientDisconnected then makes
    the load roll back instead of committing the rows that did arrive. (Behind gunicorn the
    stream just ends early; a chunked body that ends early already raises in gunicorn.)
    """

    def __init__(self, stream, expected: int | None):
        self._stream = stream
        self._expected = expected
        self._read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self._stream.readinto(buffer)
        self._read += count
        if count == 0 and self._expected is not None and self._read < self._expected:
            raise ClientDisconnected(f"the body ended after {self._read} of {self._expected} bytes")
        return count

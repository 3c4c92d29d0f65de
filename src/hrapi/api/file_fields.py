"""The file fields of a multipart upload, taken strictly.

A field the endpoint does not name, a field given twice, or a known field sent as text instead
of a file is a 422 naming it, before anything is loaded: werkzeug gives the first part of a
repeated field and drops the others, and a field it was not asked for went unread, so a second
departments file, or a file under a misspelt name, was left out without a word.
"""

from __future__ import annotations

from flask import request
from flask_smorest import abort
from werkzeug.datastructures import FileStorage

from hrapi.ingest.rejects import in_brief


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

"""Files that are not CSV text, known by their first bytes.

An Excel workbook, a compressed export or a backup sent where a CSV was expected used to load
as a "completed" load whose every line was a reject ("Expected 2 fields, got 1"); the reader
now refuses it at once with a 422 that says what the file is and what to send instead.
"""

from __future__ import annotations

KNOWN = (  # (first bytes, what the file is, what to do)
    (b"\x1f\x8b", "a gzip archive", "decompress it and send the CSV"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)",
     "save the sheet as CSV, or unzip the archive, and send that"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook",
     "save the sheet as CSV and send that"),
    (b"\xfd7zXZ\x00", "an xz archive", "decompress it and send the CSV"),
    (b"(\xb5/\xfd", "a zstd archive", "decompress it and send the CSV"),
    (b"7z\xbc\xaf'\x1c", "a 7-Zip archive", "extract it and send the CSV"),
    (b"%PDF-", "a PDF document", "export the table as CSV and send that"),
    (b"Obj\x01", "an AVRO file (hrapi's backups are)",
     "a backup is restored by its name (POST /api/v1/tables/{table}/restore), not uploaded"),
    (b"PAR1", "a Parquet file", "export it as CSV and send that"),
    (b"SQLite format 3\x00", "an SQLite database", "export the table as CSV and send that"),
)  # fmt: skip
LONGEST = max(len(magic) for magic, _, _ in KNOWN)  # bytes to look at


def other_format(start: bytes) -> str | None:
    """What is wrong with a file that starts with these bytes, if it is of another format."""
    for magic, what, instead in KNOWN:
        if start.startswith(magic):
            return f"The file is {what}, not CSV text: {instead}."
    return None

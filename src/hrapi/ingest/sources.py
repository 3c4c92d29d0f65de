"""Where a CSV load's records come from: streams in every dialect the options name.

A CSV body is decoded as it is read (never held whole; bytes not valid in the encoding are
kept as lone surrogates, U+DC00 plus the byte, so that the row holding them is rejected with
its line number), split into lines at LF, CRLF or a lone CR, and parsed by the standard `csv`
module (quotes, delimiters and line breaks inside quoted fields). Records come out a `Chunk`
at a time, with what a reject needs: their line numbers and raw text. A first line naming the
columns, in any order and any case, is a header (with `header=auto`, the default): values then
map to columns by name. A load that must start over reads its input again (`CsvInput.chunks`).
A JSON batch's rows come as the same Chunks (json_input.py).
"""

from __future__ import annotations

import bisect
import codecs
import csv
import io
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from hrapi.ingest import other_formats
from hrapi.ingest.column_rules import indices_of
from hrapi.ingest.rejects import RAW_KEEP, Rejected, in_brief, json_raw, printable
from hrapi.ingest.replay import Replayable
from hrapi.tables import Table

CSV_FIELD_LIMIT = 1 << 20  # characters; a longer field is a per-row reject, not a crash
DECODE_CHUNK = 1 << 16  # bytes the text decoder takes at a time
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # little- and big-endian
UTF8_BOM = b"\xef\xbb\xbf"  # Excel's "CSV UTF-8" starts with it
SINGLE_BYTE = ("latin-1", "cp1252")  # encodings that read any byte (UTF-8's too, garbled)
CHUNK_ROWS = 4096  # records checked and copied together
FIRST_CHUNK_ROWS = 2  # a header and a record: all a load reads before it is on record
DELIMITERS = {",": ",", ";": ";", "|": "|", "tab": "\t"}
ENCODINGS = {"utf-8": "utf-8-sig", "latin-1": "latin-1", "cp1252": "cp1252", "utf-16": "utf-16"}
HEADER_MODES = ("auto", "true", "false")
# Each encoding under the name Python's codecs give it and its codec, so that any alias of
# either finds it (see option_name).
_ENCODING_NAMES = {codecs.lookup(spelling).name: name
                   for name, codec in ENCODINGS.items() for spelling in (name, codec)}  # fmt: skip

UNDECODABLE = "hrapi-undecodable"  # the decoders' error handler, registered below

csv.field_size_limit(CSV_FIELD_LIMIT)


def _undecodable(error: UnicodeDecodeError) -> tuple[str, int]:
    """Each byte the encoding cannot decode as the lone surrogate U+DC00 plus the byte, as
    Python's "surrogateescape" does for bytes from 0x80; in UTF-16 (a lone surrogate, an odd
    last byte) they may be lower, which "surrogateescape" refuses by raising."""
    undecoded = error.object[error.start : error.end]
    return "".join(chr(0xDC00 + byte) for byte in undecoded), error.end


codecs.register_error(UNDECODABLE, _undecodable)


class SourceError(ValueError):
    """The input cannot be read as asked (a header that does not fit, a missing BOM): 422."""


def option_name(option: str, value: str) -> str | None:
    """A CSV option's value by its name here (a key of DELIMITERS or ENCODINGS, or one of
    HEADER_MODES), whatever its case or alias (`UTF-8`, `ISO-8859-1`, `windows-1252`; a tab
    or `\\t` for `tab`); None if it names none of them."""
    if option == "delimiter":
        value = "tab" if value in ("\t", "\\t") else value.lower()
        return value if value in DELIMITERS else None
    if option == "header":
        return value.lower() if value.lower() in HEADER_MODES else None
    try:
        return _ENCODING_NAMES.get(codecs.lookup(value).name)
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        return None


@dataclass(frozen=True)
class CsvOptions:
    """How a CSV file is written: its delimiter, its encoding and whether it has a header."""

    delimiter: str = ","
    encoding: str = "utf-8"
    header: str = "auto"


@dataclass
class Chunk:
    """Consecutive records of an input, with what their rejects need.

    `rows` hold each record's values: CSV rows are lists of texts in the file's column order
    (`order` says where each table column is, when a header named them in another order),
    JSON rows tuples of decoded values in table column order, or None for a row that is not
    an object with exactly the table's fields (the
    objects as received are in `objects`). `first` is the position of the first record (CSV
    line, 1-based; JSON index, 0-based). CSV `lines` are the records' raw lines, one each
    unless `spans` says how many each took. `rejects` are records the source could not read.
    """

    rows: list
    first: int
    lines: list[str] | None = None
    spans: list[int] | None = None
    objects: list | None = None
    rejects: list[Rejected] = field(default_factory=list)
    order: list[int] | None = None  # where each table column is in a CSV record, if not in turn
    _starts: tuple = field(default=(None, None), repr=False, compare=False)  # (spans, starts)

    def positions(self) -> list[int]:
        if self.spans is None:
            return list(range(self.first, self.first + len(self.rows)))
        return list(itertools.accumulate(self.spans[:-1], initial=self.first))

    def raw(self, index: int) -> str:
        """The raw text of a record (storable: see printable)."""
        if self.objects is not None:
            return json_raw(self.objects[index])
        if self.spans is None:
            text = self.lines[index]
        else:
            starts = self._line_starts()
            text = "".join(self.lines[starts[index] : starts[index + 1]])
        return printable(text.rstrip("\r\n"))

    def _line_starts(self) -> list[int]:
        """Where each record's lines start among `lines`, made once for the spans as they are
        (a sum a reject cost a chunk of 4096 records 1.5 ms for its 140 rejects)."""
        spans, starts = self._starts
        if spans is not self.spans:
            starts = list(itertools.accumulate(self.spans, initial=0))
            self._starts = (self.spans, starts)
        return starts


class CsvInput:
    """A CSV body as loads read it: chunks on demand, and again from the start if needed
    (a load that starts over, the raw text of rejects: see replay)."""

    source = "csv"

    def __init__(self, stream, table: Table, options: CsvOptions | None = None):
        self.table = table
        self.options = options or CsvOptions()
        self._body = Replayable(stream)

    def chunks(self) -> Iterator[Chunk]:
        return CsvReader(self.stream(), self.table, self.options).chunks()

    def raws(self, lines: Iterable[int]) -> Iterator[tuple[int, str]]:
        """(line, raw text) of the records at these lines (ascending), read again from the
        start as far as the last of them; a line where no record starts is left out."""
        chunks = self.chunks()
        positions: list[int] = []
        chunk = None
        for line in lines:
            while not positions or positions[-1] < line:
                chunk = next(chunks, None)
                if chunk is None:
                    return
                positions = chunk.positions()
            index = bisect.bisect_left(positions, line)
            if positions[index] == line:
                yield line, chunk.raw(index)

    def stream(self) -> io.BufferedReader:
        """The input's bytes, from the start, for one more reading."""
        return self._body.reading()

    def close(self) -> None:
        self._body.close()


class CsvReader:
    """One reading of a CSV stream, a Chunk at a time. A later part of a file (`continued`,
    from a line end, with the line number of its first line) has no header nor byte order
    mark: `order` says where the table's columns are, as the file's header said. A
    `transcoded` stream is a UTF-16 input as UTF-8 (see utf16)."""

    def __init__(self, stream, table: Table, options: CsvOptions, *, first_line: int = 1,
                 order: list[int] | None = None, continued: bool = False,
                 transcoded: bool = False):  # fmt: skip
        self.table = table
        self.options = options
        self.continued = continued
        self.skipped = first_line - 1  # lines before this part of the file
        encoding, errors = ENCODINGS[options.encoding], UNDECODABLE
        if continued and encoding == "utf-8-sig":
            encoding = "utf-8"
        start = stream.peek(other_formats.LONGEST)[: other_formats.LONGEST]
        if not continued and not transcoded and (other := other_formats.other_format(start)):
            raise SourceError(other)
        if not continued and options.encoding in SINGLE_BYTE and start[:3] == UTF8_BOM:
            raise SourceError(f"The file starts with a UTF-8 byte order mark (Excel's CSV UTF-8 "
                              f"writes one): send encoding=utf-8, not {options.encoding}, or its "
                              f"letters would be stored garbled (é as Ã©).")  # fmt: skip
        start = start[:2]
        if transcoded:  # UTF-16's undecodable bytes come as surrogates: taken as they are
            encoding, errors = "utf-8", "surrogatepass"
        elif encoding == "utf-16" and start and start not in UTF16_BOMS:
            raise SourceError("encoding=utf-16 needs the file to start with a byte order mark.")
        elif encoding != "utf-16" and start in UTF16_BOMS and not continued:
            raise SourceError(f"The file starts with a UTF-16 byte order mark (Excel's Unicode "
                              f"text is UTF-16): send encoding=utf-16, not "
                              f"{options.encoding}.")  # fmt: skip
        self.text = io.TextIOWrapper(stream, encoding, errors=errors, newline="")
        self.text._CHUNK_SIZE = DECODE_CHUNK  # the decoder's read size
        for_csv, self.lines = itertools.tee(self.text)
        self.reader = csv.reader(for_csv, delimiter=DELIMITERS[options.delimiter], strict=True)
        self.order = order  # where each table column is in a record

    def chunks(self) -> Iterator[Chunk]:
        first = not self.continued
        while True:
            chunk, more = self._read_chunk()
            if first:
                first = False
                self._header(chunk)
            if chunk.rows or chunk.rejects:
                yield chunk
            if not more:
                return

    def _read_chunk(self) -> tuple[Chunk, bool]:
        """The next records (fewer after an unreadable one); whether the input goes on."""
        rows: list = []
        done = self.reader.line_num
        error = None
        size = CHUNK_ROWS if done else FIRST_CHUNK_ROWS
        try:
            rows.extend(islice(self.reader, size))
        except csv.Error as exc:
            error = exc
        lines = list(islice(self.lines, self.reader.line_num - done))
        spans = None if len(lines) == len(rows) else _spans(rows)
        chunk = Chunk(rows, self.skipped + done + 1, lines, spans)
        if error is not None:
            used = len(rows) if spans is None else sum(spans)
            bad = "".join(lines[used:]).rstrip("\r\n")
            line = self.skipped + done + used + 1
            chunk.rejects.append(Rejected(line, printable(bad), (
                (None, "source-error", _unreadable(error, line, len(lines) - used, len(bad))),
            )))  # fmt: skip
            chunk.lines = lines[:used]
        chunk.order = self.order
        return chunk, error is not None or len(rows) == size

    def _header(self, chunk: Chunk) -> None:
        """Take a header off the first chunk (see the module docstring), or raise SourceError."""
        mode, columns = self.options.header, self.table.columns
        if not chunk.rows or chunk.first != 1 or mode == "false":
            if mode == "true":
                raise SourceError("header=true, but the first line is not a header.")
            return
        names = [name.strip().lower() for name in chunk.rows[0]]
        if mode == "auto" and not _looks_like_header(names, columns):
            return
        counts = Counter(names)  # one pass: a first line may hold any number of fields
        unknown = [n for n in counts if n not in columns]
        missing = [c for c in columns if c not in counts]
        repeated = sorted(n for n, count in counts.items() if count > 1)
        if unknown or missing or repeated:
            problems = [f"{label} {in_brief(which)}" for label, which in (
                ("unknown columns", unknown), ("missing columns", missing),
                ("repeated columns", repeated)) if which]  # fmt: skip
            raise SourceError(
                f"The header of this {self.table.name} file has "
                f"{'; '.join(problems)}; its columns are {', '.join(columns)}."
            )
        span = 1 if chunk.spans is None else chunk.spans[0]
        chunk.rows, chunk.first, chunk.lines = (
            chunk.rows[1:],
            chunk.first + span,
            chunk.lines[span:],
        )
        chunk.spans = None if chunk.spans is None else chunk.spans[1:]
        if names != list(columns):
            self.order = chunk.order = [names.index(c) for c in columns]


def _unreadable(error: csv.Error, line: int, lines: int, characters: int) -> str:
    """The reason of an unreadable record: one that took many lines (a quote left open takes
    the lines after it into one field) says which, so that none goes unaccounted for."""
    if lines <= 1:
        return f"Unreadable CSV: {error} (an unbalanced quote?)"
    kept = "" if characters <= RAW_KEEP else f"; its first {RAW_KEEP} characters are kept"
    return (
        f"Unreadable CSV: {error} (an unbalanced quote?); the record takes lines {line} to "
        f"{line + lines - 1}, none of them loaded{kept}"
    )


def _looks_like_header(names: list[str], columns: tuple[str, ...]) -> bool:
    """header=auto: the first record names at least one column and holds no number."""
    return any(n in columns for n in names) and not any(n.isdigit() for n in names)


def _spans(rows: list[list[str]]) -> list[int]:
    """How many lines each record took (_span), for records of which some took more than one:
    their fields joined once and searched for line breaks (C calls), so that only the records
    that hold one are looked at (a record at a time cost 0.5 us a row: 1 in 50 names with a
    line break, every chunk has some)."""
    fields = list(itertools.chain.from_iterable(rows))
    text = "\x00".join(fields)
    if text.count("\x00") != len(fields) - 1:  # a field holds a NUL itself
        return [_span(row) for row in rows]
    ends = list(itertools.accumulate(map(len, rows)))  # fields up to each record's end
    spans = [1] * len(rows)
    field_index, searched = 0, 0
    for at in sorted([*indices_of(text, "\n"), *indices_of(text, "\r")]):
        field_index += text.count("\x00", searched, at)
        searched = at
        record = bisect.bisect_right(ends, field_index)
        spans[record] = _span(rows[record])
    return spans


def _span(row: list[str]) -> int:
    """How many lines a record took: one, plus the line breaks inside its quoted fields."""
    text = "".join(row)
    return 1 + text.count("\n") + text.count("\r") - text.count("\r\n")

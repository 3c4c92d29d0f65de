"""A large CSV read and checked by helper processes, a block of lines each: both cores work.

A load is bound by Python (the csv module and the check), while PostgreSQL's COPY leaves
part of the other core idle. So the load's own process reads the input's bytes and
cuts them into blocks of about BLOCK_BYTES that end at a line end outside quotes (an even
number of `"` before it); it reads the first block itself (a header there says where the
columns are), hands the next ones to HELPERS forked processes, and takes their pieces
(pieces.py) back in order, for the strategy to COPY.

A block is read by the same CsvReader and checked by the same RowCheck as a whole file is,
from the number of its first line, so every row's outcome, line and raw text are those a
reading in order gives. A cut is a guess (a `"` inside an unquoted field is text, not a
quote): a block whose reading meets any csv error (an unbalanced quote, a field past the
limit, or the block's end inside a quoted field) is not used, and the input is read in
order from that block's start on, as a small file is. UTF-16 inputs (whose `"` and line ends
are not single bytes) are read in order from the start.
"""

from __future__ import annotations

import io
import multiprocessing
import signal
from collections import deque
from collections.abc import Callable, Iterator

from hrapi.ingest.check import RowCheck
from hrapi.ingest.pieces import Piece, joined
from hrapi.ingest.sources import CsvInput, CsvReader

BLOCK_BYTES = 1 << 19  # bytes a helper reads at a time (about 11,000 rows of hires)
HELPERS = 2  # processes that read blocks beside the load's own (this machine has two cores)
QUEUED_BLOCKS = 2 * HELPERS  # blocks handed out and not taken back: memory stays bounded
LONGEST_BLOCK = 1 << 26  # bytes without a line end outside quotes: read in order from there
HELPER_TIMEOUT = 300  # seconds a block may take (a helper that died never answers)
# The server's signal handlers, which a helper must not run (it ends as any process does):
_SIGNALS = ("SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGCHLD")


def csv_pieces(data: CsvInput, check: RowCheck, make: Callable) -> Iterator[Piece]:
    """The pieces (make(check, chunk)) of a CSV input, in order (see the module docstring)."""
    if data.options.encoding == "utf-16":
        for chunk in data.chunks():
            yield make(check, chunk)
        return
    blocks = _Blocks(data.stream())
    first = blocks.next()
    reader = None if first is None else CsvReader(_bytes_stream(first[0]), data.table,
                                                  data.options)  # fmt: skip
    pieces = None if reader is None else _read(reader, check, make)
    if pieces is None:  # no line end outside quotes, or a csv error: all of it in order
        start = b"" if first is None else first[0]
        yield from _in_order(data, check, make, _bytes_stream(start, blocks.rest()),
                             first_line=1, order=None)  # fmt: skip
        return
    yield from pieces
    if blocks.cuts:
        yield from _helped(data, check, make, blocks, reader.order)


def _helped(data: CsvInput, check: RowCheck, make: Callable, blocks: _Blocks,
            order) -> Iterator[Piece]:  # fmt: skip
    """The pieces of the blocks after the first, read by helpers."""
    context = multiprocessing.get_context("fork")  # the helpers share the check's state
    pool = context.Pool(HELPERS, initializer=_start_helper, initargs=(check, make, data, order))
    handed: deque = deque()  # (result, block, first line), in order
    try:
        while True:
            while len(handed) < QUEUED_BLOCKS and (block := blocks.next()) is not None:
                handed.append((pool.apply_async(_read_block, block), *block))
            if not handed:
                if blocks.stuck:  # no line end outside quotes for long: the rest in order
                    yield from _in_order(data, check, make, _bytes_stream(b"", blocks.rest()),
                                         first_line=blocks.line, order=order)  # fmt: skip
                return
            result, bytes_, first_line = handed.popleft()
            piece = result.get(timeout=HELPER_TIMEOUT)
            if piece is None:  # a csv error: from this block's start on, in order
                rest = b"".join([bytes_, *(later for _, later, _ in handed)])
                yield from _in_order(data, check, make, _bytes_stream(rest, blocks.rest()),
                                     first_line=first_line, order=order)  # fmt: skip
                return
            yield piece
    finally:
        pool.terminate()
        pool.join()


def _in_order(data: CsvInput, check: RowCheck, make: Callable, stream, *, first_line: int,
              order) -> Iterator[Piece]:  # fmt: skip
    """The pieces of the input from a line on (the first: with its header), read here."""
    reader = CsvReader(stream, data.table, data.options, first_line=first_line, order=order,
                       continued=first_line > 1)  # fmt: skip
    for chunk in reader.chunks():
        yield make(check, chunk)


_helper: dict = {}  # in a helper: what it reads blocks with


def _start_helper(check: RowCheck, make: Callable, data: CsvInput, order) -> None:
    for name in _SIGNALS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    _helper.update(check=check, make=make, table=data.table, options=data.options, order=order)


def _read_block(block: bytes, first_line: int) -> Piece | None:
    """A helper's piece of one block, or None if its reading met a csv error."""
    reader = CsvReader(_bytes_stream(block), _helper["table"], _helper["options"],
                       first_line=first_line, order=_helper["order"], continued=True)  # fmt: skip
    pieces = _read(reader, _helper["check"], _helper["make"])
    return None if pieces is None else joined(pieces)


def _read(reader: CsvReader, check: RowCheck, make: Callable) -> list[Piece] | None:
    """Every piece of a block, or None if its reading met a csv error."""
    pieces = []
    for chunk in reader.chunks():
        if any(reject.errors[0][1] == "source-error" for reject in chunk.rejects):
            return None
        pieces.append(make(check, chunk))
    return pieces


class _Blocks:
    """An input's bytes as blocks that end where a line ends outside quotes (or where the
    input ends), each with the number of its first line. None when the input has ended, or
    is `stuck`: no line end outside quotes in LONGEST_BLOCK bytes."""

    def __init__(self, stream):
        self._stream = stream
        self._pending = b""
        self._ended = False
        self.line = 1  # of the next block
        self.cuts = 0  # blocks that ended at a cut (none: the input was one block)
        self.stuck = False

    def next(self) -> tuple[bytes, int] | None:
        self._fill(BLOCK_BYTES)
        cut = -1
        while not self._ended:
            cut = _cut(self._pending)
            if cut >= 0:
                break
            if len(self._pending) >= LONGEST_BLOCK:
                self.stuck = True
                return None
            self._fill(len(self._pending) + BLOCK_BYTES)
        if cut >= 0:
            block, self._pending = self._pending[:cut], self._pending[cut:]
            self.cuts += 1
        elif self._pending:  # the input's last block
            block, self._pending = self._pending, b""
        else:
            return None
        first = self.line
        self.line += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
        return block, first

    def rest(self):
        """What no block holds: the bytes read ahead, then the rest of the stream."""
        return _Chain(io.BytesIO(self._pending), self._stream)

    def _fill(self, size: int) -> None:
        parts = [self._pending]
        have = len(self._pending)
        while have < size and not self._ended:
            data = self._stream.read(min(size - have, BLOCK_BYTES))
            if not data:
                self._ended = True
            parts.append(data)
            have += len(data)
        self._pending = b"".join(parts)


def _cut(buffer: bytes) -> int:
    """Where the last line of buffer that ends outside quotes ends (an even number of `"`
    before it), or -1."""
    end, quotes = len(buffer), buffer.count(b'"')
    for _ in range(64):  # a quoted field over many lines: read on
        at = buffer.rfind(b"\n", 0, end)
        lone = buffer.rfind(b"\r", 0, end)  # a line that ends in a lone CR
        if lone > at and buffer[lone + 1 : lone + 2] not in (b"\n", b""):
            at = lone
        if at < 0:
            return -1
        quotes -= buffer.count(b'"', at + 1, end)
        if quotes % 2 == 0:
            return at + 1
        end = at
    return -1


def _bytes_stream(block: bytes, then=None) -> io.BufferedReader:
    raw = io.BytesIO(block) if then is None else _Chain(io.BytesIO(block), then)
    return io.BufferedReader(raw)


class _Chain(io.RawIOBase):
    """Reads one stream to its end, then another."""

    def __init__(self, first, second):
        self._streams = [first, second]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self._streams:
            count = self._streams[0].readinto(buffer)
            if count:
                return count
            self._streams.pop(0)
        return 0

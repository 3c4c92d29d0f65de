"""A large CSV read and checked by helper processes, a block of lines each: both cores work.

A load is bound by Python (the csv module and the check), while PostgreSQL's COPY leaves
part of the other core idle. So the load's own process reads the input's bytes and
cuts them into blocks of about BLOCK_BYTES that end at a line end outside quotes (an even
number of `"` before it); it reads the first block itself (a header there says where the
columns are; a smaller one, so that COPY starts sooner), hands the next ones to HELPERS forked
processes, and takes their pieces (pieces.py) back in order, for the strategy to COPY.

A block is read by the same CsvReader and checked by the same RowCheck as a whole file is,
from the number of its first line, so every row's outcome, line and raw text are those a
reading in order gives. A cut is a guess (a `"` inside an unquoted field is text, not a
quote): a block whose reading meets any csv error (an unbalanced quote, a field past the
limit, or the block's end inside a quoted field) is not used, and the input is read in
order from that block's start on, as a small file is. A UTF-16 input (whose `"` and line ends
are not single bytes) is cut, and read, as UTF-8 (utf16).
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import multiprocessing
import queue
import signal
import threading
from collections.abc import Callable, Iterator

from hrapi.ingest.check import RowCheck
from hrapi.ingest.pieces import Piece, joined
from hrapi.ingest.replay import Chain
from hrapi.ingest.sources import CsvInput, CsvReader
from hrapi.ingest.utf16 import Utf8FromUtf16

BLOCK_BYTES = 1 << 19  # bytes a helper reads at a time (about 11,000 rows of hires)
FIRST_BLOCK_BYTES = 1 << 16  # read here before the helpers start (a full block: COPY 15 ms later)
HELPERS = 2  # processes that read blocks beside the load's own (this machine has two cores)
QUEUED_BLOCKS = 2 * HELPERS  # blocks handed out and not taken back: memory stays bounded
LONGEST_BLOCK = 1 << 26  # bytes without a line end outside quotes: read in order from there
PIPE_BYTES = 1 << 20  # a pipe's capacity, where the system allows it (see _widen)
HELPER_TIMEOUT = 300  # seconds a block may take (a helper that died never answers)
# The server's signal handlers, which a helper must not run (it ends as any process does):
_SIGNALS = ("SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGCHLD")


def csv_pieces(data: CsvInput, check: RowCheck, make: Callable) -> Iterator[Piece]:
    """The pieces (make(check, chunk)) of a CSV input, in order (see the module docstring)."""
    stream = data.stream()
    if data.options.encoding == "utf-16":  # cut as UTF-8, see _reader
        stream = io.BufferedReader(Utf8FromUtf16(stream))
    blocks = _Blocks(stream)
    first = blocks.next(min(FIRST_BLOCK_BYTES, BLOCK_BYTES))
    reader = None if first is None else _reader(_bytes_stream(first[0]), data)
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
    helpers = _Helpers(data, check, make, blocks, order)
    try:
        while (taken := helpers.take()) is not None:
            piece, block, first_line = taken
            if piece is None:  # a csv error: from this block's start on, in order
                rest = _bytes_stream(block + helpers.stop(reading_on=True), blocks.rest())
                yield from _in_order(data, check, make, rest, first_line=first_line,
                                     order=order)  # fmt: skip
                return
            yield piece
        if blocks.stuck:  # no line end outside quotes for long: the rest in order
            yield from _in_order(data, check, make, _bytes_stream(b"", blocks.rest()),
                                 first_line=blocks.line, order=order)  # fmt: skip
    finally:
        helpers.stop()


class _Helpers:
    """HELPERS forked processes, each reading the blocks it is sent through a pipe and sending
    their pieces back through another, in turn. A thread of this process reads the input's
    blocks and sends them round the helpers, QUEUED_BLOCKS at most ahead of the pieces taken
    back. Stopping kills the helpers (they hold nothing but blocks); a helper whose load's
    process dies sees its pipe end and exits."""

    def __init__(self, data: CsvInput, check: RowCheck, make: Callable, blocks: _Blocks, order):
        context = multiprocessing.get_context("fork")  # the helpers share the check's state
        self._blocks = blocks
        self._handed: queue.Queue = queue.Queue()  # (helper, block, first line), then None
        self._room = threading.Semaphore(QUEUED_BLOCKS)
        self._stopped = False
        self._error: BaseException | None = None
        self._processes, self._tasks, self._results = [], [], []
        for _ in range(HELPERS):
            tasks_out, tasks_in = context.Pipe(duplex=False)
            results_out, results_in = context.Pipe(duplex=False)
            _widen(tasks_in)
            _widen(results_in)
            self._tasks.append(tasks_in)
            self._results.append(results_out)
            process = context.Process(
                target=_help, daemon=True, name="hrapi-helper",
                args=(tasks_out, results_in, [*self._tasks, *self._results],
                      (check, make, data, order)),
            )  # fmt: skip
            process.start()
            tasks_out.close()
            results_in.close()
            self._processes.append(process)
        self._feeder = threading.Thread(target=self._feed, name="hrapi-blocks", daemon=True)
        self._feeder.start()

    def take(self) -> tuple[Piece | None, bytes, int] | None:
        """The next block's piece (None: its reading met a csv error), the block and the
        number of its first line; None when every block was taken."""
        handed = self._handed.get()
        if handed is None:
            if self._error is not None:
                raise self._error
            return None
        helper, block, first_line = handed
        results = self._results[helper]
        try:
            if not results.poll(HELPER_TIMEOUT):
                raise RuntimeError(f"a helper gave no piece in {HELPER_TIMEOUT} s")
            piece = results.recv()
        except EOFError:
            raise RuntimeError("a helper ended before it gave its piece") from None
        self._room.release()
        return piece, block, first_line

    def stop(self, *, reading_on: bool = False) -> bytes:
        """Stop the helpers. reading_on: the input is to be read on here, so wait for the
        thread to let go of it and answer the blocks sent and not taken back, joined (else
        the thread, perhaps waiting for a client's bytes, is left to end on its own)."""
        if self._stopped:
            return b""
        self._stopped = True
        self._room.release()  # a thread waiting for room sees the stop
        for process in self._processes:
            process.kill()
        for process in self._processes:
            process.join()
        if not reading_on:  # the thread's sends fail now (no reader): it ends, with its pipes
            for pipe in self._results:
                pipe.close()
            return b""
        self._feeder.join()
        for pipe in [*self._tasks, *self._results]:
            pipe.close()
        sent = []
        with contextlib.suppress(queue.Empty):
            while (handed := self._handed.get_nowait()) is not None:
                sent.append(handed[1])
        return b"".join(sent)

    def _feed(self) -> None:
        turn = 0
        try:
            while self._room.acquire() and not self._stopped:
                block = self._blocks.next()
                if block is None:
                    break
                helper, turn = turn % HELPERS, turn + 1
                self._handed.put((helper, *block))
                self._tasks[helper].send(block)
        except OSError as exc:  # a pipe broken by stop(), or the input's stream failing
            if not self._stopped:
                self._error = exc
        except BaseException as exc:
            self._error = exc
        finally:
            self._handed.put(None)


def _widen(pipe) -> None:
    """Let a pipe hold a whole block or piece (Linux: 64 KiB by default, where a piece's send
    waited on its reader eight times over), so that a helper sends it and reads on; where the
    system allows no more, the pipe stays as it is."""
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _help(tasks, results, parents_pipes: list, reading: tuple) -> None:
    """A helper: the pieces of the blocks it is sent, until its pipe ends. reading: the
    check, the piece maker, the input and where its columns are."""
    check, make, data, order = reading
    for name in _SIGNALS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    for pipe in parents_pipes:  # so that the pipe ends when the load's process does
        pipe.close()
    while True:
        try:
            block, first_line = tasks.recv()
        except EOFError:
            return
        reader = _reader(_bytes_stream(block), data, first_line=first_line, order=order,
                         continued=True)  # fmt: skip
        pieces = _read(reader, check, make)
        results.send(None if pieces is None else joined(pieces))


def _in_order(data: CsvInput, check: RowCheck, make: Callable, stream, *, first_line: int,
              order) -> Iterator[Piece]:  # fmt: skip
    """The pieces of the input from a line on (the first: with its header), read here."""
    reader = _reader(stream, data, first_line=first_line, order=order, continued=first_line > 1)
    for chunk in reader.chunks():
        yield make(check, chunk)


def _reader(stream, data: CsvInput, **where) -> CsvReader:
    """A reader of this module's bytes: a UTF-16 input's are UTF-8 here (see utf16)."""
    transcoded = data.options.encoding == "utf-16"
    return CsvReader(stream, data.table, data.options, transcoded=transcoded, **where)


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

    def next(self, size: int | None = None) -> tuple[bytes, int] | None:
        self._fill(size or BLOCK_BYTES)  # BLOCK_BYTES as it is when called (tests set it)
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
        self.line += block.count(b"\n")
        if b"\r" in block:  # lone CRs end lines too (a scan for one is cheaper than a count)
            self.line += block.count(b"\r") - block.count(b"\r\n")
        return block, first

    def rest(self):
        """What no block holds: the bytes read ahead, then the rest of the stream."""
        return Chain(io.BytesIO(self._pending), self._stream)

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
    end, quotes = len(buffer), buffer.count(b'"') if b'"' in buffer else 0
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
    raw = io.BytesIO(block) if then is None else Chain(io.BytesIO(block), then)
    return io.BufferedReader(raw)

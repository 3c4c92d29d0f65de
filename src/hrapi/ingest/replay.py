"""An input read more than once: a load that starts over, or reads the raw text of its rejects
again, reads its body from the start; a reading resumed from bytes already read (Chain).

A seekable file is rewound. Any other stream (a request body) is copied to a temporary file
as it is read, and a later reading takes that copy and then the rest of the stream, copied in
turn: the body is never held in memory, and never read from the client twice.
"""

from __future__ import annotations

import errno
import io
import os
import tempfile

READ_BUFFER = 1 << 20  # bytes read from a stream at a time (gunicorn copies less per read)


class Replayable:
    """A stream whose every reading starts at its beginning (the position it had when given)."""

    def __init__(self, stream):
        self._stream = stream
        self._seekable = _is_seekable(stream)
        self._start = stream.tell() if self._seekable else 0
        self._copy = None  # what has been read of a stream that cannot be rewound
        self._copied = 0  # bytes in _copy

    def reading(self) -> io.BufferedReader:
        """The bytes from the start, for one more reading."""
        if self._seekable:
            self._stream.seek(self._start)
            return io.BufferedReader(_Unclosed(self._stream), READ_BUFFER)
        if self._copy is None:
            self._copy = tempfile.TemporaryFile(buffering=0)  # noqa: SIM115 - see close()
        return io.BufferedReader(_Replay(self), READ_BUFFER)

    def close(self) -> None:
        if self._copy is not None:
            self._copy.close()


def _is_seekable(stream) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, ValueError, OSError):
        return False


class _Unclosed(io.RawIOBase):
    """A stream read through without being closed with its reader."""

    def __init__(self, stream):
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._stream.readinto(buffer)


class _Replay(io.RawIOBase):
    """One reading of a stream that cannot be rewound: what earlier readings copied, then the
    rest of the stream, copied as it is read."""

    def __init__(self, source: Replayable):
        self._source = source
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        source = self._source
        if self._offset < source._copied:
            wanted = min(len(buffer), source._copied - self._offset)
            data = os.pread(source._copy.fileno(), wanted, self._offset)
            buffer[: len(data)] = data
        else:
            count = source._stream.readinto(buffer)
            if not count:
                return 0
            data = memoryview(buffer)[:count]
            _write_all(source._copy, data)
            source._copied += count
        self._offset += len(data)
        return len(data)


def _write_all(file, data: memoryview) -> None:
    """Write all of data to an unbuffered file, which may take less than it is given (a disk
    nearly full): a copy with a gap would end a later reading early, silently."""
    while data:
        written = file.write(data)
        if not written:
            raise OSError(errno.ENOSPC, "the temporary copy of the input took no more bytes")
        data = data[written:]


class Chain(io.RawIOBase):
    """Reads one stream to its end, then another (bytes read ahead, then the rest)."""

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

"""A UTF-16 input as UTF-8 bytes, so that helpers can read it too (parallel).

The helpers are handed blocks cut where a line ends outside quotes, found by looking for the
bytes of `\\n`, `\\r` and `"`; in UTF-16 these are two bytes each, and a byte of value 0x0A or
0x22 may be half of any character. So a UTF-16 input is decoded here as it is read and encoded
again as UTF-8, and its blocks are read as such (CsvReader's `transcoded`). Bytes that UTF-16
could not decode stay what they are in a reading in order (sources.UNDECODABLE): they travel
as surrogates (UTF-8's "surrogatepass"), so every row's values, line and raw text come out the
same either way.
"""

from __future__ import annotations

import codecs
import io

from hrapi.ingest.sources import UNDECODABLE

READ_BYTES = 1 << 20  # UTF-16 bytes decoded at a time


class Utf8FromUtf16(io.RawIOBase):
    """Reads a UTF-16 stream (with its byte order mark) as UTF-8 bytes."""

    def __init__(self, stream):
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-16")(errors=UNDECODABLE)
        self._pending = memoryview(b"")  # encoded bytes not read yet
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending and not self._ended:
            data = self._stream.read(READ_BYTES)
            self._ended = not data
            text = self._decoder.decode(data, final=self._ended)
            self._pending = memoryview(text.encode("utf-8", "surrogatepass"))
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

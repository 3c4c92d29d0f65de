"""An AVRO file's header, read and written by hand: restores read datetimes as integers.

fastavro makes a datetime of every `timestamp-micros` value (a third of a restore's reading
time), which a restore only turns back into microseconds for COPY BINARY. So a backup's header
(magic, metadata, sync marker) is read here, its schema handed to the reader to check, and
fastavro reads the file behind a copy of the header whose schema says `long` where the file's
says `timestamp-micros`: the same bytes, decoded as integers. The file is never changed (an
import writes the bytes it received). Every part is bounded, so a hostile header is refused,
not read whole. The writer frames its backups with the same functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from hrapi.backups.avro_blocks import read_bytes, read_long

MAGIC = b"Obj\x01"  # an AVRO object container file
SYNC_BYTES = 16
MAX_METADATA_BYTES = 1 << 20  # a header's keys and values, all told (ours: under 1 KiB)
INSTANT = {"type": "long", "logicalType": "timestamp-micros"}


@dataclass
class Header:
    meta: dict[str, bytes]
    sync: bytes

    def schema(self) -> dict:
        """The writer's schema (ValueError if there is none, or it is not JSON)."""
        if "avro.schema" not in self.meta:
            raise ValueError("its header has no schema")
        return json.loads(self.meta["avro.schema"])

    def with_instants_as_longs(self, schema: dict) -> bytes:
        """This header with schema (its own, as read and checked), whose `timestamp-micros`
        fields say plain longs."""
        fields = [{**f, "type": "long"} if f["type"] == INSTANT else f for f in schema["fields"]]
        as_longs = json.dumps({**schema, "fields": fields}).encode()
        return encode(self.meta | {"avro.schema": as_longs}, self.sync)


def read_header(handle) -> Header:
    """The header at the start of handle, which is left at the first block. Raises ValueError
    (EOFError) for anything but a well-formed header of bounded size."""
    if handle.read(len(MAGIC)) != MAGIC:
        raise ValueError("it does not start with AVRO's magic bytes")
    meta, budget = {}, MAX_METADATA_BYTES
    try:
        while count := read_long(handle):
            if count < 0:  # a block given with its size in bytes as well
                count = -count
                read_long(handle)
            for _ in range(count):
                key = read_bytes(handle, budget, _too_much)
                value = read_bytes(handle, budget - len(key), _too_much)
                budget -= len(key) + len(value) + 2  # empty ones count too
                meta[key.decode()] = value
    except EOFError:
        raise EOFError("the file ends inside its header") from None
    sync = handle.read(SYNC_BYTES)
    if len(sync) != SYNC_BYTES:
        raise EOFError("the file ends inside its header")
    return Header(meta, sync)


def encode(meta: dict[str, bytes], sync: bytes) -> bytes:
    """A header of this metadata and sync marker."""
    parts = [MAGIC, encode_long(len(meta))] if meta else [MAGIC]  # a block, then the end: 0
    for key, value in meta.items():
        name = key.encode()
        parts += [encode_long(len(name)), name, encode_long(len(value)), value]
    return b"".join([*parts, encode_long(0), sync])


def encode_long(value: int) -> bytes:
    """AVRO's encoding of a long (zig-zag, then 7 bits a byte), for the few the frame needs."""
    value = (value << 1) ^ (value >> 63)
    encoded = bytearray()
    while value > 0x7F:
        encoded.append((value & 0x7F) | 0x80)
        value >>= 7
    encoded.append(value)
    return bytes(encoded)


class Prefixed:
    """A binary stream read as `prefix` followed by the rest of handle."""

    def __init__(self, prefix: bytes, handle):
        self._prefix = prefix
        self._handle = handle

    def read(self, size: int | None = -1) -> bytes:
        size = -1 if size is None else size
        if not self._prefix:
            return self._handle.read(size)
        if 0 <= size <= len(self._prefix):
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            return data
        data, self._prefix = self._prefix, b""
        return data + self._handle.read(-1 if size < 0 else size - len(data))


def _too_much(size: int) -> ValueError:
    return ValueError(f"its header holds more than {MAX_METADATA_BYTES >> 20} MiB of metadata")

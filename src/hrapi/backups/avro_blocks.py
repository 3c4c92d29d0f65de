"""AVRO blocks read with their size bounded, so that no backup can exhaust a worker's memory.

fastavro reads a whole block into memory, and inflates a deflated one whole: a file of one
megabyte can hold a block that inflates to a gigabyte of records (a "deflate bomb"), and a
block's declared size is whatever its header says. hrapi's own backups write blocks of about
128 KiB of records (avro_rows.BLOCK_HEX_BYTES), other writers' are of the same order; so the
readers of the two codecs hrapi reads (null and deflate, the two every AVRO reader must know)
are replaced in fastavro's table of block readers by ones that refuse a block over
MAX_BLOCK_BYTES (the reader then fails, and the backup is a 422 that says why). Files of
other codecs are refused before their first block (avro_rows.BackupReader).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable

import fastavro.read

MAX_BLOCK_BYTES = 1 << 26  # a block's records, once inflated: 64 MiB
CODECS = ("null", "deflate")  # what hrapi reads


class BlockTooLarge(ValueError):
    """A block over MAX_BLOCK_BYTES (stored, or once inflated)."""


def read_long(handle) -> int:
    """An AVRO long (zig-zag, then 7 bits a byte, the lowest first)."""
    value = shift = 0
    while True:
        byte = handle.read(1)
        if not byte:
            raise EOFError("the file ends inside a block's header")
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return (value >> 1) ^ -(value & 1)
        shift += 7
        if shift > 63:
            raise ValueError("a block's header holds a number longer than 64 bits")


def read_bytes(handle, most: int, too_large: Callable[[int], Exception]) -> bytes:
    """AVRO's bytes: a long, then that many bytes; too_large(size) is raised for more than
    `most` (before anything is read), EOFError where the file ends first."""
    size = read_long(handle)
    if not 0 <= size <= most:
        raise too_large(size)
    data = handle.read(size)
    if len(data) != size:
        raise EOFError("the file ends inside a block")
    return data


def _block_bytes(handle) -> bytes:
    return read_bytes(handle, MAX_BLOCK_BYTES, lambda size: BlockTooLarge(
        f"a block says it holds {size} bytes (at most {MAX_BLOCK_BYTES})"))  # fmt: skip


def null_block(handle) -> io.BytesIO:
    return io.BytesIO(_block_bytes(handle))


def deflate_block(handle) -> io.BytesIO:
    inflater = zlib.decompressobj(-15)
    records = inflater.decompress(_block_bytes(handle), MAX_BLOCK_BYTES)
    if inflater.unconsumed_tail:
        raise BlockTooLarge(f"a block inflates past {MAX_BLOCK_BYTES >> 20} MiB")
    return io.BytesIO(records)


def install() -> None:
    """Read null and deflate blocks with these readers, in every fastavro reader of this
    process (fastavro looks its block readers up in this table; hrapi is its only user)."""
    fastavro.read.BLOCK_READERS.update(null=null_block, deflate=deflate_block)

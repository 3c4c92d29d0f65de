"""Where a load keeps its rejected rows while the valid ones stream by COPY.

One connection runs one COPY at a time, so rejects wait (in memory, then on disk: memory does
not grow with the input) as COPY rows of load_rejects, and are copied in after the data.
"""

from __future__ import annotations

import json
import tempfile

from hrapi.row_check import Rejected

REJECT_SPOOL_BYTES = 1 << 20  # rejected rows kept in memory up to this, then on disk


class RejectSpool:
    """A load's rejected rows, kept as COPY rows of load_rejects until copy_into."""

    def __init__(self, load_id: int):
        self._file = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by copy_into
            max_size=REJECT_SPOOL_BYTES, mode="w+", encoding="utf-8"
        )
        self._prefix = f"{load_id}\t"
        self.count = 0

    def add(self, reject: Rejected) -> None:
        self._file.write(
            f"{self._prefix}{reject.position}\t{_copy_text(reject.raw)}\t"
            f"{_copy_text(json.dumps(reject.reasons))}\n"
        )
        self.count += 1

    def copy_into(self, conn, copy_sql) -> None:
        """COPY the spooled rejects into load_rejects."""
        self._file.seek(0)
        with conn.cursor().copy(copy_sql) as copy:
            while chunk := self._file.read(1 << 16):
                copy.write(chunk)
        self.close()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RejectSpool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _copy_text(value: str) -> str:
    """A value as a field of COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )

"""Writing into the backup folder: new files only (never one that exists, nor through a
symlink), synced and renamed into place once complete, hashed as they are written; and what a
failed write means: the folder's fault, not the request's (503, or 507 for a full disk).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hrapi.backups.errors import BackupError


def unwritable(folder: Path, exc: OSError) -> BackupError:
    """The backup folder cannot take a new backup: 507 when its disk is full, else 503 (the
    server's own folder, not the request, is at fault; nothing of the backup is left)."""
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    todo = "free space on its disk" if full else "check HRAPI_BACKUP_DIR"
    return BackupError(507 if full else 503, f"The backup folder {folder} cannot be written "
                                             f"({exc.strerror or exc}): {todo}.")  # fmt: skip


@contextmanager
def writes_to(folder: Path) -> Iterator[None]:
    """Inside, an OSError is the folder's: raised as unwritable."""
    try:
        yield
    except OSError as exc:
        raise unwritable(folder, exc) from exc


class HashingWriter:
    """A binary file wrapper that hashes and counts what is written through it (to a file in
    folder: a failed write is the folder's, see unwritable)."""

    def __init__(self, handle, folder: Path):
        self.handle = handle
        self.folder = folder
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def write(self, data) -> int:
        self.sha256.update(data)
        self.bytes += len(data)
        with writes_to(self.folder):
            return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()

    def seekable(self) -> bool:
        return False  # fastavro would otherwise try to append to an existing file


def create(path: Path):
    """A new file, never one that exists or a symlink's target."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    return os.fdopen(fd, "wb")


def write_json(path: Path, data: dict) -> None:
    """Write JSON next to where it goes, then rename it into place (never half-written)."""
    temporary = path.with_name(f".{path.name}.partial")
    try:
        with create(temporary) as handle:
            handle.write(json.dumps(data).encode())
            handle.flush()
            os.fsync(handle.fileno())
        temporary.rename(path)
    finally:
        temporary.unlink(missing_ok=True)

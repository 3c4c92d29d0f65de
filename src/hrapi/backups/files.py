"""Backup files on disk: where they are, what they are called, and opening only our own.

    HRAPI_BACKUP_DIR/<table>/<UTC time>.avro        a table's backup
    HRAPI_BACKUP_DIR/<table>/<UTC time>.avro.json   its sidecar: rows, bytes, sha256, created_at
    HRAPI_BACKUP_DIR/sets/...                       sets of all tables (see sets)

A backup is only ever a regular file directly in its folder whose name matches the pattern,
opened without following symlinks (nor blocking on a FIFO) below HRAPI_BACKUP_DIR; a sidecar's
or manifest's fields are data, never a path. A backup is usable only with a readable sidecar
and a file whose sha256 is the sidecar's. Files are written under a temporary name, synced,
and renamed into place once complete; anything else found there is listed with its problem.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path

from hrapi.backups.errors import BackupError
from hrapi.backups.writing import HashingWriter, create, write_json, writes_to

STAMP = "%Y%m%dT%H%M%S.%fZ"
NAME = re.compile(r"\d{8}T\d{6}\.\d{6}Z\.avro\Z")  # a table's backup
SIDECAR_MAX_BYTES = 1 << 16
SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


@dataclass
class BackupInfo:
    """A listed backup of a table; `problem` says why it cannot be restored (None: usable)."""

    name: str
    table: str
    rows: int | None
    bytes: int | None
    sha256: str | None
    created_at: str | None
    problem: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def new_stamp() -> tuple[str, str]:
    """A new backup's time stamp (the name's stem) and its ISO 8601 creation time."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime(STAMP), now.isoformat().replace("+00:00", "Z")


class BackupFiles:
    """The backup folder: listing, opening, writing and pruning backups and sets."""

    def __init__(self, root: Path, keep: int | None = None):
        self.root = root
        self.keep = keep

    def folder(self, table: str) -> Path:
        return self.root / table

    # -- a table's backups -----------------------------------------------------------------

    def list(self, table: str) -> list[BackupInfo]:
        """Every entry of the table's folder named like a backup, newest first, each with
        its problem if it cannot be restored (never raises for what the folder holds)."""
        listed = []
        for name, is_file in entries(self.folder(table), NAME):
            if not is_file:
                listed.append(BackupInfo(name, table, None, None, None, None, "not a regular file"))
                continue
            try:
                meta = read_json(self.root, (table,), name + ".json")
                listed.append(BackupInfo(name, table, **sidecar_fields(meta)))
            except BackupError as exc:
                listed.append(BackupInfo(name, table, None, None, None, None, str(exc)))
        return listed

    def find(self, table: str, name: str | None) -> BackupInfo:
        """The usable backup called name (the newest usable one for None); 404 or 422."""
        listed = self.list(table)
        if name is None:
            usable = [b for b in listed if b.problem is None]
            if not usable:
                raise BackupError(404, f"There are no usable backups of {table}.")
            return usable[0]
        for backup in listed:
            if backup.name == name:
                if backup.problem:
                    raise BackupError(422, f"Backup {name} cannot be used: {backup.problem}.")
                return backup
        raise BackupError(
            404,
            f"{name[:100]!r} is not one of the backups of {table}; "
            f"GET /api/v1/tables/{table}/backups lists them.",
        )

    def open_checked(self, parts: tuple[str, ...], name: str, sha256: str):
        """A backup file opened safely, its whole content hashed and found equal to sha256
        (else 422), rewound: the bytes hashed are the bytes then read."""
        handle = open_below(self.root, parts, name)
        try:
            digest = hashlib.sha256()
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
            if digest.hexdigest() != sha256:
                raise BackupError(
                    422,
                    f"Backup {'/'.join((*parts, name))} has changed since it "
                    "was written (its sha256 is not its sidecar's); it was "
                    "not used.",
                )
            handle.seek(0)
        except BaseException:
            handle.close()
            raise
        return handle

    @contextmanager
    def writing(self, table: str) -> Iterator[tuple[HashingWriter, dict]]:
        """A new backup of table: yields the writer and its sidecar's fields so far (name,
        created_at), where the caller puts "rows"; on success the sidecar is written and the
        file renamed into place (and the dict holds every field); on failure nothing is left."""
        folder = self.folder(table)
        stem, created_at = new_stamp()
        meta = {"name": stem + ".avro", "created_at": created_at}
        temporary = folder / f".{stem}.avro.partial"
        try:
            with writes_to(folder):
                folder.mkdir(parents=True, exist_ok=True)
                handle = create(temporary)
            try:
                out = HashingWriter(handle, folder)
                yield out, meta
                with writes_to(folder):
                    handle.flush()
                    os.fsync(handle.fileno())
                    handle.close()
            finally:
                with suppress(OSError):  # after an error: what it still held is dropped
                    handle.close()
            name = meta["name"]
            sidecar = {
                "name": name,
                "table": table,
                "rows": meta["rows"],
                "bytes": out.bytes,
                "sha256": out.sha256.hexdigest(),
                "created_at": meta["created_at"],
            }
            with writes_to(folder):
                write_json(folder / (name + ".json"), sidecar)
                temporary.rename(folder / name)
            meta.update(sidecar)
        finally:
            with suppress(OSError):  # gone, or the folder never was one
                temporary.unlink(missing_ok=True)
        self.prune(table)

    def prune(self, table: str) -> list[str]:
        """Keep the newest HRAPI_BACKUP_KEEP backups of table; delete the older ones (our own
        files only: regular files with a backup's name, and their sidecars)."""
        if self.keep is None:
            return []
        folder = self.folder(table)
        ours = [name for name, is_file in entries(folder, NAME) if is_file]
        for name in ours[self.keep :]:
            (folder / name).unlink(missing_ok=True)
            (folder / (name + ".json")).unlink(missing_ok=True)
        return ours[self.keep :]


def entries(folder: Path, pattern: re.Pattern, *, folders: bool = False) -> list[tuple]:
    """(name, whether it is what it should be) for the entries of folder whose names match,
    newest first; symlinks are never what they should be. A folder that is missing, or is
    a symlink, has none."""
    try:
        if stat.S_ISLNK(os.lstat(folder).st_mode):
            return []
        with os.scandir(folder) as scanned:
            named = [e for e in scanned if pattern.match(e.name)]
            matching = [(e.name, e.is_dir(follow_symlinks=False) if folders
                         else e.is_file(follow_symlinks=False)) for e in named]  # fmt: skip
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(matching, reverse=True)


def open_below(root: Path, parts: tuple[str, ...], name: str):
    """Open root/parts.../name for reading, following no symlink below root and refusing
    anything but a regular file (422)."""
    where = "/".join((*parts, name))
    fds = []
    try:
        fds.append(os.open(root, os.O_RDONLY | os.O_DIRECTORY))
        for part in parts:
            fds.append(os.open(part, _OPEN_FLAGS | os.O_DIRECTORY, dir_fd=fds[-1]))
        fd = os.open(name, _OPEN_FLAGS, dir_fd=fds[-1])
    except FileNotFoundError as exc:
        raise BackupError(422, f"{where} is missing.") from exc
    except OSError as exc:
        raise BackupError(
            422, f"{where} cannot be opened as a backup file ({exc.strerror})."
        ) from exc
    finally:
        for opened in fds:
            os.close(opened)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise BackupError(422, f"{where} is not a regular file.")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_json(root: Path, parts: tuple[str, ...], name: str) -> dict:
    """A sidecar or manifest, read safely (see open_below) and parsed; 422 if it cannot be."""
    with open_below(root, parts, name) as handle:
        text = handle.read(SIDECAR_MAX_BYTES + 1)
    if len(text) > SIDECAR_MAX_BYTES:
        raise BackupError(422, f"{name} is too large to be ours")
    try:
        meta = json.loads(text)
    except ValueError as exc:
        raise BackupError(422, f"{name} is not readable JSON") from exc
    if not isinstance(meta, dict):
        raise BackupError(422, f"{name} is not a JSON object")
    return meta


def sidecar_fields(meta: dict) -> dict:
    """A sidecar's fields, checked to be what we write (never a path: the file's own name
    is what names it)."""
    fields = {key: meta.get(key) for key in ("rows", "bytes", "sha256", "created_at")}
    if not (
        _count(fields["rows"])
        and _count(fields["bytes"])
        and isinstance(fields["sha256"], str)
        and SHA256.match(fields["sha256"])
        and isinstance(fields["created_at"], str)
        and len(fields["created_at"]) < 40
    ):
        raise BackupError(
            422, "its sidecar does not have our fields (rows, bytes, sha256, created_at)"
        )
    return fields


def _count(value) -> bool:
    return type(value) is int and value >= 0

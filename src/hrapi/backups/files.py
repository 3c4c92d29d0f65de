"""Backup files on disk: where they are, what they are called, and opening only our own.

    HRAPI_BACKUP_DIR/<table>/<UTC time>.avro        a table's backup
    HRAPI_BACKUP_DIR/<table>/<UTC time>.avro.json   its sidecar: rows, bytes, sha256, created_at
    HRAPI_BACKUP_DIR/sets/<UTC time>/               a set: <table>.avro for each table, and
                                                    manifest.json (rows and sha256 of each)

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
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

STAMP = "%Y%m%dT%H%M%S.%fZ"
NAME = re.compile(r"\d{8}T\d{6}\.\d{6}Z\.avro\Z")  # a table's backup
SET_NAME = re.compile(r"\d{8}T\d{6}\.\d{6}Z\Z")  # a set's folder
SETS = "sets"
MANIFEST = "manifest.json"
SIDECAR_MAX_BYTES = 1 << 16
SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class BackupError(Exception):
    """A backup cannot be used; `status` is the HTTP status that says why, `errors` the rows
    a backup was refused for (if that was the reason)."""

    def __init__(self, status: int, message: str, errors: list | None = None):
        super().__init__(message)
        self.status = status
        self.errors = errors


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


class HashingWriter:
    """A binary file wrapper that hashes and counts what is written through it."""

    def __init__(self, handle):
        self.handle = handle
        self.sha256 = hashlib.sha256()
        self.bytes = 0

    def write(self, data) -> int:
        self.sha256.update(data)
        self.bytes += len(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()

    def seekable(self) -> bool:
        return False  # fastavro would otherwise try to append to an existing file


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
        entries = []
        for name, is_file in _entries(self.folder(table), NAME):
            if not is_file:
                entries.append(
                    BackupInfo(name, table, None, None, None, None, "not a regular file")
                )
                continue
            try:
                meta = _read_json(self.root, (table,), name + ".json")
                entries.append(BackupInfo(name, table, **_sidecar_fields(meta)))
            except BackupError as exc:
                entries.append(BackupInfo(name, table, None, None, None, None, str(exc)))
        return entries

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
            f"{name!r} is not one of the backups of {table}; "
            f"GET /api/v1/tables/{table}/backups lists them.",
        )

    def open_checked(self, parts: tuple[str, ...], name: str, sha256: str):
        """A backup file opened safely, its whole content hashed and found equal to sha256
        (else 422), rewound: the bytes hashed are the bytes then read."""
        handle = _open_below(self.root, parts, name)
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
        folder.mkdir(parents=True, exist_ok=True)
        stem, created_at = new_stamp()
        meta = {"name": stem + ".avro", "created_at": created_at}
        temporary = folder / f".{stem}.avro.partial"
        try:
            with _create(temporary) as handle:
                out = HashingWriter(handle)
                yield out, meta
                handle.flush()
                os.fsync(handle.fileno())
            name = meta["name"]
            sidecar = {
                "name": name,
                "table": table,
                "rows": meta["rows"],
                "bytes": out.bytes,
                "sha256": out.sha256.hexdigest(),
                "created_at": meta["created_at"],
            }
            _write_json(folder / (name + ".json"), sidecar)
            temporary.rename(folder / name)
            meta.update(sidecar)
        finally:
            temporary.unlink(missing_ok=True)
        self.prune(table)

    def prune(self, table: str) -> list[str]:
        """Keep the newest HRAPI_BACKUP_KEEP backups of table; delete the older ones (our own
        files only: regular files with a backup's name, and their sidecars)."""
        if self.keep is None:
            return []
        folder = self.folder(table)
        ours = [name for name, is_file in _entries(folder, NAME) if is_file]
        for name in ours[self.keep :]:
            (folder / name).unlink(missing_ok=True)
            (folder / (name + ".json")).unlink(missing_ok=True)
        return ours[self.keep :]

    # -- sets of all tables ------------------------------------------------------------------

    def list_sets(self) -> list[dict]:
        """Every entry of the sets folder named like a set, newest first, with its manifest's
        fields, or its problem."""
        found = []
        for name, _ in _entries(self.root / SETS, SET_NAME, folders=True):
            try:
                found.append(
                    {
                        **_manifest_fields(_read_json(self.root, (SETS, name), MANIFEST), name),
                        "problem": None,
                    }
                )
            except BackupError as exc:
                found.append({"name": name, "created_at": None, "tables": {}, "problem": str(exc)})
        return found

    def find_set(self, name: str, tables: tuple[str, ...]) -> dict:
        for entry in self.list_sets():
            if entry["name"] == name:
                if entry["problem"]:
                    raise BackupError(422, f"Backup set {name} cannot be used: {entry['problem']}.")
                missing = [t for t in tables if t not in entry["tables"]]
                if missing:
                    raise BackupError(422, f"Backup set {name} lacks {', '.join(missing)}.")
                return entry
        raise BackupError(
            404, f"{name!r} is not one of the backup sets; GET /api/v1/backups lists them."
        )

    @contextmanager
    def writing_set(self) -> Iterator[tuple[str, callable, dict]]:
        """A new set: yields its name, open(table) -> a HashingWriter for that table's file,
        and the manifest's tables dict to fill with each table's "rows"; the folder is
        renamed into place complete, with its manifest, or not at all."""
        sets = self.root / SETS
        sets.mkdir(parents=True, exist_ok=True)
        stem, created_at = new_stamp()
        temporary = sets / f".{stem}.partial"
        temporary.mkdir()
        writers: dict[str, tuple] = {}
        tables: dict[str, dict] = {}

        def open_table(table: str) -> HashingWriter:
            handle = _create(temporary / f"{table}.avro")
            writers[table] = (handle, HashingWriter(handle))
            return writers[table][1]

        try:
            yield stem, open_table, tables
            for table, (handle, out) in writers.items():
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
                tables[table].update(bytes=out.bytes, sha256=out.sha256.hexdigest())
            _write_json(
                temporary / MANIFEST, {"name": stem, "created_at": created_at, "tables": tables}
            )
            temporary.rename(sets / stem)
        finally:
            for handle, _ in writers.values():
                handle.close()
            shutil.rmtree(temporary, ignore_errors=True)
        self.prune_sets()

    def prune_sets(self) -> list[str]:
        if self.keep is None:
            return []
        sets = self.root / SETS
        ours = [name for name, is_dir in _entries(sets, SET_NAME, folders=True) if is_dir]
        for name in ours[self.keep :]:
            shutil.rmtree(sets / name, ignore_errors=True)  # rmtree never follows symlinks
        return ours[self.keep :]


def _entries(folder: Path, pattern: re.Pattern, *, folders: bool = False) -> list[tuple]:
    """(name, whether it is what it should be) for the entries of folder whose names match,
    newest first; symlinks are never what they should be. A folder that is missing, or is
    a symlink, has none."""
    try:
        if stat.S_ISLNK(os.lstat(folder).st_mode):
            return []
        with os.scandir(folder) as found:
            entries = [
                (
                    e.name,
                    e.is_dir(follow_symlinks=False)
                    if folders
                    else e.is_file(follow_symlinks=False),
                )
                for e in found
                if pattern.match(e.name)
            ]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(entries, reverse=True)


def _open_below(root: Path, parts: tuple[str, ...], name: str):
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


def _read_json(root: Path, parts: tuple[str, ...], name: str) -> dict:
    """A sidecar or manifest, read safely (see _open_below) and parsed; 422 if it cannot be."""
    with _open_below(root, parts, name) as handle:
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


def _sidecar_fields(meta: dict) -> dict:
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


def _manifest_fields(meta: dict, name: str) -> dict:
    tables = meta.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise BackupError(422, "its manifest lists no tables")
    checked = {}
    for table, fields in tables.items():
        if not isinstance(fields, dict):
            raise BackupError(422, f"its manifest's entry for {table!r} is not an object")
        entry = _sidecar_fields({**fields, "created_at": meta.get("created_at")})
        checked[str(table)] = {k: entry[k] for k in ("rows", "bytes", "sha256")}
    created_at = meta.get("created_at")
    return {
        "name": name,
        "created_at": created_at if isinstance(created_at, str) else None,
        "tables": checked,
    }


def _count(value) -> bool:
    return type(value) is int and value >= 0


def _create(path: Path):
    """A new file, never one that exists or a symlink's target."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    return os.fdopen(fd, "wb")


def _write_json(path: Path, data: dict) -> None:
    """Write JSON next to where it goes, then rename it into place (never half-written)."""
    temporary = path.with_name(f".{path.name}.partial")
    try:
        with _create(temporary) as handle:
            handle.write(json.dumps(data).encode())
            handle.flush()
            os.fsync(handle.fileno())
        temporary.rename(path)
    finally:
        temporary.unlink(missing_ok=True)

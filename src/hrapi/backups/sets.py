"""Backup sets: the three tables read in one snapshot, kept together.

    HRAPI_BACKUP_DIR/sets/<UTC time>/               a set: <table>.avro for each table, and
                                                    manifest.json (rows, bytes, sha256 of each)

The same rules as a table's backups (files): only a real folder named like ours, files opened
without following symlinks, the manifest's fields data, never a path; a set is written under a
temporary name and renamed into place complete.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from hrapi.backups.errors import BackupError
from hrapi.backups.files import entries, new_stamp, read_json, sidecar_fields
from hrapi.backups.writing import HashingWriter, create, write_json, writes_to

SET_NAME = re.compile(r"\d{8}T\d{6}\.\d{6}Z\Z")  # a set's folder
SETS = "sets"
MANIFEST = "manifest.json"


class BackupSets:
    """The sets folder: listing, finding, writing and pruning sets."""

    def __init__(self, root: Path, keep: int | None = None):
        self.root = root
        self.keep = keep

    def list(self) -> list[dict]:
        """Every entry of the sets folder named like a set, newest first, with its manifest's
        fields, or its problem."""
        found = []
        for name, _ in entries(self.root / SETS, SET_NAME, folders=True):
            try:
                found.append(
                    {
                        **_manifest_fields(read_json(self.root, (SETS, name), MANIFEST), name),
                        "problem": None,
                    }
                )
            except BackupError as exc:
                found.append({"name": name, "created_at": None, "tables": {}, "problem": str(exc)})
        return found

    def find(self, name: str, tables: tuple[str, ...]) -> dict:
        for entry in self.list():
            if entry["name"] == name:
                if entry["problem"]:
                    raise BackupError(422, f"Backup set {name} cannot be used: {entry['problem']}.")
                missing = [t for t in tables if t not in entry["tables"]]
                if missing:
                    raise BackupError(422, f"Backup set {name} lacks {', '.join(missing)}.")
                return entry
        raise BackupError(
            404, f"{name[:100]!r} is not one of the backup sets; GET /api/v1/backups lists them."
        )

    @contextmanager
    def writing(self) -> Iterator[tuple[str, callable, dict]]:
        """A new set: yields its name, open(table) -> a HashingWriter for that table's file,
        and the manifest's tables dict to fill with each table's "rows"; the folder is
        renamed into place complete, with its manifest, or not at all."""
        sets = self.root / SETS
        stem, created_at = new_stamp()
        temporary = sets / f".{stem}.partial"
        with writes_to(sets):
            sets.mkdir(parents=True, exist_ok=True)
            temporary.mkdir()
        writers: dict[str, tuple] = {}
        tables: dict[str, dict] = {}

        def open_table(table: str) -> HashingWriter:
            with writes_to(sets):
                handle = create(temporary / f"{table}.avro")
            writers[table] = (handle, HashingWriter(handle, sets))
            return writers[table][1]

        try:
            yield stem, open_table, tables
            with writes_to(sets):
                for table, (handle, out) in writers.items():
                    handle.flush()
                    os.fsync(handle.fileno())
                    handle.close()
                    tables[table].update(bytes=out.bytes, sha256=out.sha256.hexdigest())
                manifest = {"name": stem, "created_at": created_at, "tables": tables}
                write_json(temporary / MANIFEST, manifest)
                temporary.rename(sets / stem)
        finally:
            for handle, _ in writers.values():
                with suppress(OSError):  # what it held is thrown away below
                    handle.close()
            shutil.rmtree(temporary, ignore_errors=True)
        self.prune()

    def prune(self) -> list[str]:
        if self.keep is None:
            return []
        sets = self.root / SETS
        ours = [name for name, is_dir in entries(sets, SET_NAME, folders=True) if is_dir]
        for name in ours[self.keep :]:
            shutil.rmtree(sets / name, ignore_errors=True)  # rmtree never follows symlinks
        return ours[self.keep :]


def _manifest_fields(meta: dict, name: str) -> dict:
    tables = meta.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise BackupError(422, "its manifest lists no tables")
    checked = {}
    for table, fields in tables.items():
        if not isinstance(fields, dict):
            raise BackupError(422, f"its manifest's entry for {table!r} is not an object")
        entry = sidecar_fields({**fields, "created_at": meta.get("created_at")})
        checked[str(table)] = {k: entry[k] for k in ("rows", "bytes", "sha256")}
    created_at = meta.get("created_at")
    return {
        "name": name,
        "created_at": created_at if isinstance(created_at, str) else None,
        "tables": checked,
    }

"""AVRO backups of the tables, and restoring them: one table at a time, or sets of all three.

`files` keeps the backup folder (names, sidecars, opening only our own files, retention),
`writing` writes into it (new files, renamed into place complete; a failed write is a 503),
`sets` the sets' folders and manifests, `avro_blocks` bounds the blocks fastavro reads,
`avro_header` reads and writes a file's header (fastavro then reads datetimes as integers),
`avro_rows` the format (schema, writing rows, reading records checked against the data
dictionary), `restore` the database side of a restore, `service.Backups` puts them together
for the API and the CLI.
"""

from hrapi.backups.errors import BackupError
from hrapi.backups.files import BackupInfo
from hrapi.backups.restore import RestoreReport
from hrapi.backups.service import Backups

__all__ = ["BackupError", "BackupInfo", "Backups", "RestoreReport"]

"""AVRO backups of the tables, and restoring them: one table at a time, or sets of all three.

`files` keeps the backup folder (names, sidecars, opening only our own files, retention),
`sets` the sets' folders and manifests,
`avro_rows` the format (schema, writing rows, reading records checked against the data
dictionary), `restore` the database side of a restore, `service.Backups` puts them together
for the API and the CLI.
"""

from hrapi.backups.files import BackupError, BackupInfo
from hrapi.backups.restore import RestoreReport
from hrapi.backups.service import Backups

__all__ = ["BackupError", "BackupInfo", "Backups", "RestoreReport"]

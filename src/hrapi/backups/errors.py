"""BackupError: why a backup cannot be made or used, as the HTTP status the API answers."""

from __future__ import annotations


class BackupError(Exception):
    """A backup cannot be made or used; `status` is the HTTP status that says why, `errors`
    the rows a backup was refused for (if that was the reason)."""

    def __init__(self, status: int, message: str, errors: list | None = None):
        super().__init__(message)
        self.status = status
        self.errors = errors

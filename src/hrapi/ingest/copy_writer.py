"""A COPY fed from another thread, in statements of a bounded number of rows.

A direct load of hires (a migration's first load, say) is bound by Python (reading and
checking) while PostgreSQL waits; a writer thread sends the checked rows, so that the
backend's work for each COPY statement (its inserts, and the hire_counts trigger over the
statement's rows) runs while the next rows are read (psycopg releases the GIL while it waits
on the server). The connection
belongs to the writer until `close`; an error of the writer (a repeated id, the database
gone) stops the reader at its next `put` and is raised again by `close`.
"""

from __future__ import annotations

import queue
import threading

STATEMENT_ROWS = 100_000  # rows per COPY statement (each ends with its trigger's counting)
REJECTS_BYTES = 1 << 20  # rejects' COPY text gathered before they are sent between statements
QUEUED_CHUNKS = 4  # checked pieces waiting for the writer at most (memory stays bounded)


class CopyWriter:
    """Sends COPY text and typed rows to `copy_sql` from a thread of its own, and the rows'
    rejects (COPY text too) to `rejects_sql` between two statements of rows."""

    def __init__(self, conn, copy_sql, rejects_sql):
        self._conn = conn
        self._sql = copy_sql
        self._rejects_sql = rejects_sql
        self._rejects: list[str] = []
        self._rejects_size = 0
        self._queue: queue.Queue = queue.Queue(QUEUED_CHUNKS)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hrapi-copy", daemon=True)
        self._thread.start()

    def put(self, text: str, typed: list, count: int, rejects: str) -> None:
        """Queue a chunk's rows (text for the plain ones, typed rows for write_row) and its
        rejects."""
        while self._error is None:
            try:
                self._queue.put((text, typed, count, rejects), timeout=0.5)
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
                    while rows < STATEMENT_ROWS and self._rejects_size < REJECTS_BYTES:
                        item = self._queue.get()
                        if item is None:
                            done = True
                            break
                        text, typed, count, rejects = item
                        copy.write(text)
                        for values in typed:
                            copy.write_row(values)
                        rows += count
                        if rejects:
                            self._rejects.append(rejects)
                            self._rejects_size += len(rejects)
                if self._rejects:
                    with self._conn.cursor().copy(self._rejects_sql) as copy:
                        copy.write("".join(self._rejects))
                    self._rejects, self._rejects_size = [], 0
        except BaseException as exc:
            self._error = exc
            while True:  # unblock a reader waiting to put
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break

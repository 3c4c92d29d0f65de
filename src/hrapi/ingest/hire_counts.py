"""The hire counts summary's housekeeping, once loads have committed: the counts the triggers
logged folded into the summary, or the summary rebuilt from the table where a first load of
hires left it stale (sql/schema/004 and 014). Housekeeping only: a failure is logged, and the
next fold does the work (the insights count the table itself while the summary is stale)."""

from __future__ import annotations

import logging
import threading

import psycopg

from hrapi.db import Database, DatabaseUnavailable

log = logging.getLogger(__name__)


class HireCounts:
    """Folds and rebuilds with the hires' SQL steps (sql/ingest/)."""

    def __init__(self, database: Database, steps: dict):
        self.database = database
        self.steps = steps

    def fold(self) -> None:
        """Fold the logged hire counts into the summary, or rebuild it from the table where a
        first load left it stale (rebuild_hire_counts.sql), then vacuum what was deleted."""
        steps = self.steps
        try:
            with self.database.connection() as conn:
                with conn.transaction():
                    conn.execute(steps["tune_session"])  # no JIT: compiling cost more than folding
                    if conn.execute(steps["hire_counts_stale"]).fetchone()[0]:
                        conn.execute(steps["fold_hire_counts_wait"])  # one under way first
                        stale = conn.execute(steps["hire_counts_stale"]).fetchone()[0]
                        conn.execute(steps["rebuild_hire_counts" if stale else "fold_hire_counts"])
                    elif conn.execute(steps["fold_hire_counts_lock"]).fetchone()[0]:
                        conn.execute(steps["fold_hire_counts"])
                    else:
                        return  # another process is folding
                conn.autocommit = True  # VACUUM runs outside a transaction
                try:
                    conn.execute(steps["vacuum_hire_counts"])
                finally:
                    conn.autocommit = False
        except (psycopg.Error, DatabaseUnavailable) as exc:
            log.warning("could not fold the hire counts now: %s", type(exc).__name__)

    def rebuild_if_stale(self) -> threading.Thread | None:
        """At start-up: a summary left stale (a first load whose process ended before the
        rebuild after its response) is rebuilt by a thread of its own, so that the insights
        are not left counting the table until the next fold; None when there is nothing to
        rebuild or no database to ask."""
        try:
            with self.database.connection() as conn:
                if not conn.execute(self.steps["hire_counts_stale"]).fetchone()[0]:
                    return None
        except (psycopg.Error, DatabaseUnavailable) as exc:
            log.warning("could not look at the hire counts at start-up: %s", type(exc).__name__)
            return None
        log.info("the hire counts summary is stale: rebuilding it from hired_employees")
        rebuild = threading.Thread(target=self.fold, name="hire-counts-rebuild", daemon=True)
        rebuild.start()
        return rebuild

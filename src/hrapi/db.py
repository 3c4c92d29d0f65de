"""Connections to PostgreSQL: the pool, the schema migrations, and 'database unavailable'.

`Database` owns a psycopg_pool pool. The pool opens in the background, so the app starts even
when the database is down; requests then get a 503 and work again once it is back. The schema
(`sql/schema/NNN_*.sql`, applied in order, each once) is applied at start-up under an advisory
lock, so two workers starting together cannot race; if the database is down at start-up it is
applied by the first request that reaches it.

A connection is lent either as usual or, to callers that check references themselves (a direct
batch of hires), with its session skipping the per-row foreign-key triggers: see
`connection(skipping_key_checks=True)`.
"""

from __future__ import annotations

import logging
import select
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from hrapi import metrics

log = logging.getLogger(__name__)

SCHEMA_LOCK_KEY = 7_413_001  # pg_advisory_xact_lock key held while migrations run
REQUEST_TIMEOUT_S = 5.0  # how long a request waits for a connection before its 503
HEALTH_TIMEOUT_S = 1.5  # /health must answer in under 2 s
STARTUP_TIMEOUT_S = 5.0  # how long start-up waits for the database before going on without it
RECONNECT_TIMEOUT_S = 5.0
# A session that skips the per-row triggers but those enabled ALWAYS (the foreign keys' probes;
# hire_counts still counts), and back to the usual. See Database.connection.
SKIP_KEY_CHECKS = "SET session_replication_role = replica"
CHECK_KEYS = "RESET session_replication_role"


class DatabaseUnavailable(Exception):
    """PostgreSQL cannot be reached (down, restarting, or the pool timed out)."""


class TableBusy(Exception):
    """A request waited its few seconds for a load that holds its table (a JSON batch:
    sql/ingest/wait_for_target.sql; an insight counting hired_employees itself:
    sql/tables/wait_for_loads.sql): nothing was done; the client may try again shortly."""

    def __init__(self, table: str):
        super().__init__(f"{table} is held by a load")
        self.table = table


class Database:
    """The app's handle on PostgreSQL: a connection pool plus the schema state."""

    def __init__(self, url: str, pool_size: int, sql_dir: Path, *, pgbouncer: bool = False):
        self.url = url
        self.pgbouncer = pgbouncer
        self.schema_dir = sql_dir / "schema"
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self._skipping_key_checks: weakref.WeakSet = weakref.WeakSet()  # connections set so
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max(pool_size, 1),
            open=False,
            name="hrapi",
            kwargs={
                "connect_timeout": 2,
                "application_name": "hrapi",
                # Behind PgBouncer in transaction mode (1.18 knows no prepared statements), a
                # statement prepared on one server connection is not there on the next:
                # psycopg then prepares nothing server-side.
                **({"prepare_threshold": None} if pgbouncer else {}),
            },
            check=check_idle_connection,
            # Give up a reconnection attempt after a few seconds (its backoff would otherwise
            # grow without bound); the next request that needs a connection starts a new one.
            reconnect_timeout=RECONNECT_TIMEOUT_S,
        )

    def open(self) -> None:
        """Start the pool without waiting; apply the schema now if the database is up."""
        self.pool.open(wait=False)
        try:
            self.ensure_schema(timeout=STARTUP_TIMEOUT_S)
        except DatabaseUnavailable as exc:
            log.warning("database unavailable at start-up, will retry on first use: %s", exc)

    @property
    def schema_ready(self) -> bool:
        return self._schema_ready

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def connection(
        self, timeout: float = REQUEST_TIMEOUT_S, *, skipping_key_checks: bool = False
    ) -> Iterator[psycopg.Connection]:
        """A pooled connection (committed on success, rolled back on error).

        Connection failures surface as DatabaseUnavailable, which the API answers with 503.

        skipping_key_checks: for a caller that checks references itself, and whose role may
        skip the probes (sql/ingest/skip_key_checks.sql says when that is safe), a connection
        whose session skips the per-row foreign-key triggers (session_replication_role =
        replica) unless behind PgBouncer, whose transaction pooling would carry the setting to
        other clients (then skips_key_checks says no, and the caller sets it for its own
        transaction). Every other caller gets its connection with the probes on. The setting
        stays with a connection from one such caller to the next, because changing it empties
        PostgreSQL's plan cache: set in each transaction, it cost a 1000-row batch of hires
        a tenth of its database time in planning again (docs/performance.md).
        """
        self.ensure_schema(timeout=timeout)
        with self.raw_connection(timeout, skipping_key_checks=skipping_key_checks) as conn:
            yield conn

    def skips_key_checks(self, conn: psycopg.Connection) -> bool:
        """Whether this connection's session skips the per-row foreign-key triggers."""
        return conn in self._skipping_key_checks

    @contextmanager
    def raw_connection(
        self, timeout: float, *, skipping_key_checks: bool = False
    ) -> Iterator[psycopg.Connection]:
        """A pooled connection, the schema not checked (DatabaseUnavailable if none comes)."""
        try:
            with self.pool.connection(timeout=timeout) as conn:
                metrics.pool_state(self.pool.get_stats())
                self._key_checks(conn, skip=skipping_key_checks and not self.pgbouncer)
                yield conn
        except PoolTimeout as exc:
            raise DatabaseUnavailable(f"no database connection within {timeout:g} s") from exc
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(_first_line(exc)) from exc
        finally:
            metrics.pool_state(self.pool.get_stats())  # the gauges of /metrics

    def _key_checks(self, conn: psycopg.Connection, *, skip: bool) -> None:
        """Set the session's per-row key checks as the caller needs them, where they are
        not so already (one round trip, outside any transaction)."""
        if self.skips_key_checks(conn) == skip:
            return
        conn.autocommit = True
        try:
            conn.execute(SKIP_KEY_CHECKS if skip else CHECK_KEYS)
        except psycopg.Error as exc:  # its setting unknown: closed, the pool drops it
            conn.close()
            raise DatabaseUnavailable(f"could not set a session's key checks: "
                                      f"{_first_line(exc)}") from exc  # fmt: skip
        finally:
            with suppress(psycopg.Error):  # closed meanwhile: its error goes on
                conn.autocommit = False
        if skip:
            self._skipping_key_checks.add(conn)
        else:
            self._skipping_key_checks.discard(conn)

    def ensure_schema(self, timeout: float = REQUEST_TIMEOUT_S) -> None:
        if self._schema_ready:
            return
        with self._schema_lock, self.raw_connection(timeout) as conn:
            if not self._schema_ready:
                applied = apply_schema(conn, self.schema_dir)
                if applied:
                    log.info("schema migrations applied: %s", ", ".join(applied))
                self._schema_ready = True

    def ping(self) -> dict:
        """Check the database answers; returns its version and time, or raises."""
        with self.raw_connection(HEALTH_TIMEOUT_S) as conn:
            conn.execute("SET LOCAL statement_timeout = 1000")
            version, now = conn.execute(
                "SELECT current_setting('server_version'), now()"
            ).fetchone()
        return {"status": "up", "server_version": version, "time": now.isoformat()}


def apply_schema(conn: psycopg.Connection, schema_dir: Path) -> list[str]:
    """Apply, in name order, every migration file not applied yet; return their names.

    Runs in one transaction under an advisory lock: concurrent callers wait, then see the
    migrations as applied and do nothing.
    """
    files = sorted(schema_dir.glob("*.sql"))
    if not files:
        raise RuntimeError(f"no schema files in {schema_dir}")
    applied_now = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEMA_LOCK_KEY])
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {name for (name,) in conn.execute("SELECT name FROM schema_migrations")}
        for path in files:
            if path.name in done:
                continue
            conn.execute(path.read_text(encoding="utf-8"))
            conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", [path.name])
            applied_now.append(path.name)
    return applied_now


def check_idle_connection(conn: psycopg.Connection) -> None:
    """The pool's check of a connection it lends: psycopg_pool's own (a round trip) only when
    the idle connection's socket has something to read, as it has once the server ended the
    session (a restart, a terminated backend: its last words, then end of file) or sent a
    notice; otherwise the connection is lent as it was left. A round trip a request cost
    about 0.1 ms of CPU here, the worker's and PostgreSQL's (docs/performance.md)."""
    if conn.closed:
        raise psycopg.OperationalError("the connection is closed")
    if _readable(conn.pgconn.socket):
        ConnectionPool.check_connection(conn)


def _readable(fd: int) -> bool:
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]

"""A load's database session: its connection, its table's SQL steps, and the few things
every strategy asks of them (the parents, locked; per-row key probes skipped where the role may;
the rejects copied in)."""

from __future__ import annotations

import functools
import itertools
import logging
from array import array
from contextlib import contextmanager

import psycopg
from psycopg import sql

from hrapi.db import TableBusy
from hrapi.ingest.check import PARENTS_MAX
from hrapi.ingest.rejects import RejectSpool, copy_escaped

CACHED_PARENTS_MAX = 10_000  # departments or jobs whose two forms a process keeps (a few MB)
RAWS_PAGE = 10_000  # rejects whose raw text is sent at a time (see store_set_rejects)

log = logging.getLogger(__name__)


class LoadSession:
    """A load's connection with its table's SQL steps, whether its role may skip the per-row
    key probes (sql/ingest/may_skip_key_checks.sql), and whether its session skips them
    already (skipping: see db.Database.connection). `hire_counts_stale`: the load left the hire
    counts summary to be rebuilt once it commits (a first load: strategies.into_table)."""

    def __init__(self, conn, steps: dict, may_skip: bool, load_id: int, *,
                 skipping: bool = False):  # fmt: skip
        self.conn = conn
        self.steps = steps
        self.may_skip = may_skip
        self.load_id = load_id
        self.skipping = skipping
        self.hire_counts_stale = False

    def run(self, name: str, params: dict | None = None):
        return self.conn.execute(self.steps[name], params)

    @contextmanager
    def bounded_wait(self, table: str):
        """Inside, a lock wait past wait_for_target.sql's timeout raises TableBusy (its
        transaction is lost with it)."""
        try:
            yield
        except psycopg.errors.LockNotAvailable as exc:
            raise TableBusy(table) from exc

    def together(self, *names: str):
        """Steps without parameters in one round trip; a cursor on the last one's rows."""
        cursor = self.conn.execute(sql.SQL(";\n").join(self.steps[name] for name in names))
        while cursor.nextset():
            pass
        return cursor

    @contextmanager
    def keys_skipped(self, skip: bool = True):
        """The statements inside run without per-row key probes where the role may (see
        sql/ingest/skip_key_checks.sql); if they fail, the rollback restores the probes."""
        skip = skip and self.may_skip
        if skip:
            self.run("skip_key_checks")
        yield
        if skip:
            self.run("check_keys_per_row")

    def parents(self, *first: str) -> dict | None:
        """The department and job ids, as integers and as text, with the parents locked
        (the steps named first run before, in the same round trip); None when there are too
        many to hold, and SQL checks the references."""
        departments, jobs = self.together(*first, "lock_parents", "parent_ids").fetchone()
        if max(len(departments), len(jobs)) > PARENTS_MAX:
            return None
        return {"department_id": _either_form(departments), "job_id": _either_form(jobs)}

    def store_rejects(self, spool: RejectSpool, *, probes_skipped: bool = False) -> int:
        """COPY the spooled rejects into load_rejects (without a key probe per row where the
        role may skip them, the load's record locked instead); returns how many.

        probes_skipped: the transaction skips the probes already, and wrote the load's record
        itself, which no other session can delete before it commits (a JSON batch's)."""
        if not spool.count:
            return 0
        if probes_skipped:
            spool.copy_into(self.conn, self.steps["copy_rejects"])
        else:
            with self._writing_rejects():
                spool.copy_into(self.conn, self.steps["copy_rejects"])
        return spool.count

    def store_set_rejects(self, data, params: dict) -> None:
        """Store the rejects the set-based steps made (sql/ingest/create_set_rejects.sql),
        each with its raw text read again from the input (sources: a CSV's records as far as
        the last of them, a JSON batch's rows), as store_rejects stores the others. Their
        lines are held as 4-byte integers and their raw text streams to the database, so that
        memory hardly grows with their number; a reject whose record is not found again keeps
        '' (and a warning is logged) rather than failing its load."""
        lines = array("i")
        with self.conn.cursor().copy(self.steps["lines_of_set_rejects"]) as copy:
            copy.set_types(["int4"])
            lines.extend(line for (line,) in copy.rows())
        found, raws = data.raws(lines), 0
        with self.conn.cursor().copy(self.steps["copy_reject_raws"]) as copy:
            while page := list(itertools.islice(found, RAWS_PAGE)):
                copy.write("".join([f"{line}\t{copy_escaped(raw)}\n" for line, raw in page]))
                raws += len(page)
        if raws < len(lines):  # never seen: the input read again is the one read first
            log.warning("load load_id=%s: the raw text of %d rejects was not found again",
                        self.load_id, len(lines) - raws)  # fmt: skip
        with self._writing_rejects():
            self.run("store_set_rejects", params)

    @contextmanager
    def _writing_rejects(self):
        """Statements that write this load's rejects: without a key probe per reject where
        the role may skip them, the load's record locked instead (sql/ingest/lock_load.sql)."""
        if self.may_skip:
            self.run("lock_load", {"load_id": self.load_id})
        with self.keys_skipped():
            yield


def may_skip_key_checks(conn, query) -> bool:
    """Whether this role may skip the per-row foreign-key probes in its transactions
    (sql/ingest/may_skip_key_checks.sql; PostgreSQL 15 or later). Leaves no transaction open."""
    with conn.transaction():
        return conn.info.server_version >= 150000 and bool(conn.execute(query).fetchone()[0])


def _either_form(ids: list) -> frozenset:
    """Parent ids as integers and as their text (CSV values are text, JSON values integers);
    made once for the same ids, while they are few (a 1000-row batch spent a tenth of its
    Python time making them again)."""
    if len(ids) > CACHED_PARENTS_MAX:
        return _both_forms(ids)
    return _cached_forms(tuple(ids))


def _both_forms(ids) -> frozenset:
    return frozenset(i for value in ids for i in (value, str(value)))


_cached_forms = functools.lru_cache(maxsize=4)(_both_forms)

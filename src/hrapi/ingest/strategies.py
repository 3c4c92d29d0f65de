"""Load strategies: how checked rows get into their table, inside the load's transaction.

- `into_table`: a CSV of hires whose ids are all new (the migration's first load, and its
  later files), the table locked against other writers; rows stream from the check into
  COPY, sent by a writer thread while the next rows are read. Into an empty table, the
  primary key is dropped and built again once the rows are in (sql/ingest/drop_primary_key.sql),
  and the hire counts summary is rebuilt after the load commits (pause_hire_counts.sql).
- `batch_directly`: a JSON batch of hires, one COPY straight into the table (row by row, see
  sql/ingest/copy_batch.sql), counted by the trigger; batches go side by side, the primary
  key arbitrating their ids.
- `through_staging`: everything else. Checked rows COPY into the session's staging table,
  and set-based SQL (sql/ingest/) rejects repeated ids, decides new, unchanged and conflicting
  rows against the stored ones, and inserts or updates.

The direct ones check departments and jobs in Python against the parents, locked and read
once, and skip the per-row key probes (sql/ingest/skip_key_checks.sql says why that is safe).
When one meets a repeated or stored id, the primary key refuses it with a UniqueViolation:
the caller rolls it back and starts over through staging, which words those rejects. Each
strategy gets what it needs passed in (a LoadSession, the chunks, the report, the spool).
"""

from __future__ import annotations

import logging
import time
from contextlib import closing
from dataclasses import dataclass
from itertools import chain

import psycopg

from hrapi.ingest.check import RowCheck
from hrapi.ingest.copy_writer import CopyWriter
from hrapi.ingest.parallel import csv_pieces
from hrapi.ingest.pieces import IdOrder, direct_piece, staged_piece
from hrapi.ingest.rejects import RejectSpool, copy_rows
from hrapi.ingest.report import LoadReport
from hrapi.ingest.session import LoadSession
from hrapi.ingest.sources import Chunk, CsvInput, CsvOptions
from hrapi.tables import Table

log = logging.getLogger(__name__)

DIRECT_TABLES = ("hired_employees",)  # loads into these may go straight into the table
MERGE_ATTEMPTS = 3  # a merge that meets one of these is retried from its staged rows:
MERGE_RETRIED = (
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
    psycopg.errors.UniqueViolation,  # an id a batch inserted meanwhile (see batch_directly)
)
LARGE_LOAD_ROWS = 10_000  # staged rows from which a load analyzes them before its merge (unless
# their ids rose, see _Merge.run), and inserts at once only when its ids lie beyond the stored
# ones (smaller loads always try, see _hopes_new)


class StoredId(Exception):
    """A CSV's first row has an id the table holds: the load goes through staging at once."""


def into_table(session: LoadSession, table: Table, data: CsvInput, report: LoadReport) -> bool:
    """Load a CSV straight into its table, hoping every id is new (the first load of an
    empty table; a later file of new ids): True if done, False (nothing read) if the parents
    are too many. Raises StoredId when the first row's id is stored (a file loaded again),
    UniqueViolation at the first id that repeats or is stored already (within the COPY
    statement that holds it; into an empty table, whose primary key is built after its rows
    are in, when the key is built).

    The input is read and checked in pieces, by helper processes for a large one (parallel);
    the checked rows go to COPY from a writer thread (copy_writer), so that PostgreSQL
    inserts them, and its hire_counts trigger counts each statement's rows (but in a first
    load, see _key_dropped), while the next rows are read and checked; the writer sends their
    rejects between two statements."""
    session.together("tune_session", "lock_target", "lock_target_writes")
    parents = session.parents()
    if parents is None:
        return False
    check = RowCheck(table, parents, data.options.encoding, delimiter=data.options.delimiter)
    session.run("skip_key_checks")
    session.run("lock_load", {"load_id": report.load_id})  # see copy_rejects.sql
    first_load = (session.run("table_is_empty").fetchone()[0]
                  and _key_dropped(session, report.load_id))  # fmt: skip
    prefix = f"{report.load_id}\t"
    with closing(csv_pieces(data, check, direct_piece)) as pieces:  # helpers stop with it
        first = next(pieces, None)
        if not first_load and first is not None and first.text:  # the first row's id
            first_id = int(first.text.partition("\t")[0])
            if session.run("id_stored", {"id": first_id}).fetchone()[0]:
                raise StoredId(f"id {first_id} is stored already")
        writer = CopyWriter(session.conn, session.steps["copy_target"],
                            session.steps["copy_rejects"])  # fmt: skip
        try:
            for piece in chain((first,) if first else (), pieces):
                report.received += piece.received
                report.rejected += len(piece.rejects)
                writer.put(piece.text, piece.typed, piece.rows, copy_rows(prefix, piece.rejects))
        finally:
            writer.close()
    if first_load:
        session.run("add_primary_key")  # a repeated id: UniqueViolation
        session.run("resume_hire_counts")
        session.hire_counts_stale = True
    session.run("check_keys_per_row")
    report.inserted = report.received - report.rejected
    return True


def _key_dropped(session: LoadSession, load_id: int) -> bool:
    """Drop the table's primary key for a first load, to build it once the rows are in
    (drop_primary_key.sql), and pause the hire counts' trigger, to rebuild the summary from
    the table once the load has committed (pause_hire_counts.sql); False, the key kept and the
    trigger counting, where the key cannot be dropped (another table's foreign key depends on
    it, it has another name, the role may not)."""
    try:
        with session.conn.transaction():
            session.run("drop_primary_key")
            session.run("pause_hire_counts")
            session.run("mark_hire_counts_stale", {"load_id": load_id})
    except (psycopg.errors.DependentObjectsStillExist, psycopg.errors.UndefinedObject,
            psycopg.errors.InsufficientPrivilege) as exc:  # fmt: skip
        log.info("the primary key stays during this first load: %s", type(exc).__name__)
        return False
    return True


def batch_directly(session: LoadSession, table: Table, chunk: Chunk,
                   report: LoadReport) -> list | None:  # fmt: skip
    """COPY a JSON batch of hires straight into its table; its rejects (report counted), or
    None (nothing written) if its parents are too many. Raises UniqueViolation on an id stored
    already or repeated, TableBusy when a load held the table for 3 s.

    The per-row key probes are skipped for the whole of the batch's transaction (its session
    skips them already, see db.Database.connection, or its first statements do): what follows
    the COPY there writes only the batch's record (loads has no foreign key) and its rejects,
    whose record that same transaction writes (see Ingestor's _batch_directly). Batches do not take
    the merge lock (lock_target): they only ever insert ids that are new, which the primary
    key arbitrates, so two run side by side; a merge that meets one of their ids retries (see
    through_staging)."""
    skip = () if session.skipping else ("skip_key_checks",)  # to the end of the transaction
    with session.bounded_wait(table.name):
        parents = session.parents("wait_for_target", *skip)
    if parents is None:
        return None
    checked = RowCheck(table, parents).chunk(chunk, "json")
    cursor = session.conn.cursor()
    with cursor.copy(session.steps["copy_batch"]) as copy:  # see copy_batch.sql
        copy.write(checked.copy_text())
        for _, values in checked.typed:
            copy.write_row(values)
    copied = checked.plain + len(checked.typed)
    if cursor.rowcount != copied:  # copy_batch.sql's WHERE is to keep every row
        raise RuntimeError(f"{copied} rows of a batch to COPY, {cursor.rowcount} copied")
    # the hire_counts trigger counted the COPY's hires: it fires even with the key probes
    # skipped (see sql/schema/003_hire_counts_always.sql)
    report.received = checked.received
    report.rejected = len(checked.rejects)
    report.inserted = report.received - report.rejected
    return checked.rejects


@dataclass(frozen=True)
class Limits:
    """What a load may do: a dry run checks everything and keeps nothing but the report; a
    load with more rejects than max_rejects (checked as rows arrive), or a larger share than
    max_reject_ratio (checked before anything is written), keeps nothing but the report and
    its rejects, as aborted."""

    on_conflict: str = "reject"
    dry_run: bool = False
    max_rejects: int | None = None
    max_reject_ratio: float | None = None

    @property
    def careful(self) -> bool:
        """Whether every reject must be known before the table is written."""
        return self.dry_run or self.max_rejects is not None or self.max_reject_ratio is not None

    def passed(self, rejected: int, received: int) -> bool:
        if self.max_rejects is not None and rejected > self.max_rejects:
            return True
        return (self.max_reject_ratio is not None and received > 0
                and rejected / received > self.max_reject_ratio)  # fmt: skip


def through_staging(session: LoadSession, table: Table, data, report: LoadReport,
                    spool: RejectSpool, *, limits: Limits) -> None:  # fmt: skip
    """Load an input (a CsvInput or a JsonInput) through the session's staging table and
    set-based SQL (see the module docstring), within the limits; report.status says how it
    ended (completed, dry_run, aborted). Rows are staged without their raw text, read again
    from the input for the rejects the set-based steps make."""
    hires = table.name == "hired_employees"
    source = data.source
    batch = ("wait_for_target",) if source == "json" else ()  # a batch waits 3 s at most
    with session.bounded_wait(table.name):
        session.together(*batch, "tune_session", "create_stage", "create_set_rejects")
    parents = session.parents() if hires else None
    options = getattr(data, "options", CsvOptions())
    check = RowCheck(table, parents, options.encoding, delimiter=options.delimiter)
    order = IdOrder()
    if source == "csv":
        pieces = csv_pieces(data, check, staged_piece)
    else:
        pieces = (staged_piece(check, chunk) for chunk in data.chunks())
    with closing(pieces), session.conn.cursor().copy(session.steps["copy_stage"]) as copy:
        for piece in pieces:
            order.see(piece)
            report.received += piece.received
            copy.write(piece.text)
            for row in piece.typed:
                copy.write_row(row)
            spool.extend(piece.rejects)
            if limits.max_rejects is not None and spool.count > limits.max_rejects:
                break  # reading stops: nothing of the load will be kept
    checked_out = session.store_rejects(spool)
    if limits.max_rejects is not None and checked_out > limits.max_rejects:
        report.status, report.rejected = "aborted", checked_out
        report.inserted = report.updated = report.unchanged = 0
        return
    staged = report.received - checked_out
    large = staged >= LARGE_LOAD_ROWS
    if large and not order.rising:  # see _Merge.run for stages whose ids rose
        session.run("analyze_stage")
    first_id, last_id = order.bounds()
    params = {"load_id": report.load_id, "position": "line" if source == "csv" else "index",
              "first_id": first_id, "last_id": last_id}  # fmt: skip
    merge = _Merge(session, params, hires and parents is None, limits, order.rising)
    for attempt in range(1, MERGE_ATTEMPTS + 1):
        try:
            with session.conn.transaction():  # a savepoint: a retry starts from the staged rows
                merge.run(report, staged, large, checked_out)
            break
        except MERGE_RETRIED as exc:
            if attempt == MERGE_ATTEMPTS:
                raise
            log.warning("load load_id=%s merge attempt %s: %s; retrying", report.load_id,
                        attempt, type(exc).__name__)  # fmt: skip
            time.sleep(0.05 * attempt)
    if report.rejected > checked_out:  # some by set-based steps
        session.store_set_rejects(data, params)


class _Merge:
    """The set-based steps that move staged rows into the table, filling the report."""

    def __init__(self, session: LoadSession, params: dict, refs_in_sql: bool, limits: Limits,
                 ids_rise: bool):  # fmt: skip
        self.session = session
        self.params = params
        self.refs_in_sql = refs_in_sql
        self.limits = limits
        self.ids_rise = ids_rise  # no id can repeat: reject_duplicates would find nothing

    def step(self, name: str) -> int:
        return self.session.run(name, self.params).rowcount

    def count(self, name: str) -> int:
        return self.session.run(name, self.params).fetchone()[0]

    def insert_new(self) -> int:
        with self.session.keys_skipped(not self.refs_in_sql):  # references checked already
            return self.step("insert_new")

    def _hopes_new(self, staged: int) -> bool:
        """Whether to insert the staged rows at once, hoping every id is new: small loads,
        and loads whose ids lie beyond the stored ones (stage_overlaps_target.sql)."""
        if self.limits.careful:
            return False  # every reject is to be known before anything is written
        return staged < LARGE_LOAD_ROWS or not self.count("stage_overlaps_target")

    def run(self, report: LoadReport, staged: int, large: bool, checked_out: int) -> None:
        """large: the stage holds LARGE_LOAD_ROWS or more, analyzed already unless its ids
        rose. Those are not analyzed (0.15-0.2 s a million rows): the planner sizes a stage
        from its pages, and with no repeated id, and the stored ids within the staged ones'
        bounds, the steps' joins are planned alike (hashes over a million rows; measured).
        A smaller stage is analyzed before its rows are joined with the table, so that they
        are looked up by primary key."""
        self.step("lock_target")
        report.unchanged = report.updated = report.inserted = 0
        report.rejected = self.step("reject_missing_references") if self.refs_in_sql else 0
        staged -= report.rejected
        if staged and self._hopes_new(staged):
            try:
                with self.session.conn.transaction():
                    report.inserted = self.insert_new()
                staged = 0
            except psycopg.errors.UniqueViolation:
                pass  # an id repeats, or is stored already: those rows are handled first
        if staged:
            repeated = 0 if self.ids_rise else self.step("reject_duplicates")
            report.rejected += repeated
            staged -= repeated
        report.rejected += checked_out
        if staged:
            if not large:
                self.step("analyze_stage")
            report.unchanged = self.step("drop_unchanged")
            update = self.limits.on_conflict == "update"
            if not update:
                report.rejected += self.step("reject_conflicts")
            if self.limits.passed(report.rejected, report.received):
                report.status = "aborted"
                report.unchanged = 0
                return
            if self.limits.dry_run:
                report.updated = self.count("count_conflicts") if update else 0
                report.inserted = self.count("count_stage")
            else:
                report.updated = self.step("update_conflicts") if update else 0
                report.inserted = self.insert_new()
        elif self.limits.passed(report.rejected, report.received):
            report.status, report.inserted = "aborted", 0
        accounted = report.inserted + report.updated + report.unchanged + report.rejected
        if report.status != "aborted" and accounted != report.received:
            raise RuntimeError(f"load {report.load_id}: {report.received} rows in, "
                               f"{accounted} out")  # fmt: skip
        if self.limits.dry_run and report.status != "aborted":
            report.status = "dry_run"

"""Loading hires straight into the table, with no staging: the fast paths of a load.

Two cases, both with the parents (departments, jobs) locked and checked once in Python instead
of a foreign-key probe per row (sql/ingest/skip_key_checks.sql says why that is safe):

- a CSV file into an empty hired_employees (the migration's first load): the rows stream from
  the request into COPY, runs of plain lines a chunk at a time (row_check.HireBlockCheck),
  with the hire_counts insert trigger paused, and the hires are counted once in SQL at the end;
- a JSON batch (at most 1000 rows, in memory): checked first (a whole column at a time when
  the batch is plain), then one COPY that inserts row by row (sql/ingest/copy_batch.sql says
  why), whose hires the hire_counts trigger counts.

Where an id is stored already or repeated, the primary key refuses the COPY; the caller
(ingest.Ingestor) rolls the attempt back and loads through staging, which decides and words
those rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hrapi.csv_source import Block, JsonInput
from hrapi.reject_spool import RejectSpool
from hrapi.row_check import BLOCK_PARENTS_MAX, HireBlockCheck, Rejected
from hrapi.tables import TABLES, Table

if TYPE_CHECKING:
    from hrapi.ingest import Ingestor

COPY_WRITE_CHARS = 1 << 16  # blocks of plain lines are sent to COPY this much at a time
DIRECT_TABLES = ("hired_employees",)  # loads into these may go straight into the table
MISSING_PARENT = {  # worded as sql/ingest/reject_missing_references.sql words them
    "department_id": "department_id: department {value} does not exist",
    "job_id": "job_id: job {value} does not exist",
}


class DirectLoads:
    """The direct ways of one Ingestor (its SQL steps, its way of storing rejects)."""

    def __init__(self, loads: Ingestor):
        self.loads = loads

    def empty_table(self, conn, table: Table, records, checker, report) -> bool:
        """Load an empty table straight from the stream, with no staging: True if done.

        When the table is empty there is nothing to be unchanged or in conflict with, and
        departments and jobs are few: with the parents locked, missing references are found
        in Python, and rows COPY straight into the table without per-row key checks (see
        sql/ingest/skip_key_checks.sql); the hire_counts insert trigger is paused meanwhile
        and the load's hires counted once at the end, in a parallel scan. An id repeated in
        the input makes the primary key refuse the COPY; then nothing of this attempt is kept
        and the caller loads through staging, which words that reject. Needs a role that may
        skip the key checks (see sql/ingest/may_skip_key_checks.sql).
        """
        steps, together = self.loads.steps[table.name], self.loads.together

        def empty(*first: str) -> bool:
            return together(conn, steps, *first, "target_is_empty").fetchone()[0]

        if not empty("tune_session", "lock_target"):
            return False  # asked before locking, so that other loads' inserts do not wait
        if not empty("lock_target_writes"):
            return False  # a writer that is not a load came first
        departments, jobs = parents = tuple(map(_either_form, self._locked_parents(conn, steps)))
        department_at, job_at = _parent_positions(table)
        if HireBlockCheck.usable(departments, jobs):
            checker.block_check = HireBlockCheck(departments, jobs)
        with RejectSpool(report.load_id) as rejects:
            together(conn, steps, "pause_hire_counts", "skip_key_checks")
            with conn.cursor().copy(steps["copy_target"]) as copy:
                blocks, block_chars = [], 0  # written a COPY_WRITE_CHARS at a time
                for record in records:
                    if type(record) is Block:
                        blocks.append(record.copy_text)
                        block_chars += len(record.copy_text)
                        if block_chars >= COPY_WRITE_CHARS:
                            copy.write("".join(blocks))
                            blocks, block_chars = [], 0
                        report.received += record.count
                        continue
                    report.received += 1
                    if type(record) is not Rejected:
                        if record[department_at] in departments and record[job_at] in jobs:
                            copy.write_row(record[2:])  # rows need not arrive in input order
                            continue
                        record = _orphan(record, parents)  # noqa: PLW2901
                    rejects.add(record)
                copy.write("".join(blocks))
            conn.execute(steps["check_keys_per_row"])
            counted = together(conn, steps, "allow_parallel", "count_loaded_hires")
            with conn.cursor().copy(steps["copy_hire_counts"]) as copy:
                for counts in counted:  # the result is in the driver already: a row at a time
                    copy.write_row(counts)
            together(conn, steps, "disallow_parallel", "resume_hire_counts")
            report.rejected = self.loads.store_rejects(conn, steps, rejects, report.load_id)
        report.inserted = report.received - report.rejected
        return True  # autovacuum analyzes the table soon (measured: the next load does not wait)

    def batch(self, conn, table: Table, data: JsonInput, checker, report) -> bool:
        """Load a JSON batch straight into the table, with no staging: True if done.

        Its rows are checked first (they are few, and in memory): the plain ones become COPY
        text (RowChecker.json_copy_text, a whole column at a time when they all are), the
        others are checked one by one (json_record), missing references in Python against the
        locked parents. Then the valid rows COPY
        into the table without per-row key probes (sql/ingest/skip_key_checks.sql). An id
        stored already or repeated in the batch makes the primary key refuse the COPY (as can
        a deadlock with a concurrent batch): then the caller drops this attempt and loads
        through staging, which decides and words those rows. Batches do not take the merge
        lock (lock_target): they only ever insert ids that are new, which the primary key
        arbitrates, so two run side by side; a merge that meets one of their ids retries
        (see Ingestor._run).
        """
        steps = self.loads.steps[table.name]
        departments, jobs = parents = self._locked_parents(
            conn, steps, "skip_key_checks"
        )  # the key checks are skipped from here until check_keys_per_row
        if len(departments) + len(jobs) > 2 * BLOCK_PARENTS_MAX:
            return False  # too many to hold in memory for each batch: staging checks them
        plain, others = checker.json_copy_text(
            data.rows, {"department_id": departments, "job_id": jobs}
        )  # the plain rows as COPY text; the others are checked one by one
        report.received = len(data.rows)
        department_at, job_at = _parent_positions(table)
        with RejectSpool(report.load_id) as rejects:
            valid = []
            for position in others:
                record = checker.json_record(position, data.rows[position])
                if type(record) is Rejected:
                    rejects.add(record)
                elif record[department_at] in departments and record[job_at] in jobs:
                    valid.append(record)
                else:
                    rejects.add(_orphan(record, parents, data.raw_of))
            cursor = conn.cursor()
            with cursor.copy(steps["copy_batch"]) as copy:  # see copy_batch.sql
                if plain:
                    copy.write(plain)
                for record in valid:
                    copy.write_row(record[2:])
            copied = len(data.rows) - len(others) + len(valid)
            if cursor.rowcount != copied:  # copy_batch.sql's WHERE is to keep every row
                raise RuntimeError(f"load {report.load_id}: {copied} rows to COPY, "
                                   f"{cursor.rowcount} copied")  # fmt: skip
            conn.execute(steps["check_keys_per_row"])  # the COPY's hires were counted by
            # the hire_counts trigger, which fires even so (see 003_hire_counts_always.sql)
            report.rejected = self.loads.store_rejects(conn, steps, rejects, report.load_id)
        report.inserted = report.received - report.rejected
        return True

    def _locked_parents(self, conn, steps, *first: str) -> tuple[frozenset, frozenset]:
        """The department and job ids (integers, as JSON rows hold them), the parents locked
        first (and the steps named first run before, in the same round trip)."""
        departments, jobs = self.loads.together(
            conn, steps, *first, "lock_parents", "parent_ids"
        ).fetchone()
        return frozenset(departments), frozenset(jobs)


def _parent_positions(table: Table) -> tuple[int, int]:
    """Where a staging record of the table holds its department and its job."""
    return 2 + table.columns.index("department_id"), 2 + table.columns.index("job_id")


def _missing_parents(record, parents: tuple[frozenset, frozenset]) -> list[str]:
    department_at, job_at = _parent_positions(TABLES["hired_employees"])
    checks = (("department_id", department_at, parents[0]), ("job_id", job_at, parents[1]))
    return [
        MISSING_PARENT[column].format(value=record[at])
        for column, at, ids in checks
        if record[at] not in ids
    ]


def _orphan(record: tuple, parents, raw_of=None) -> Rejected:
    """The reject of a checked row whose department or job does not exist (raw_of gives the
    raw text of a row checked without it, see RowChecker.json_record)."""
    raw = record[1] if record[1] is not None else raw_of(record[0])
    return Rejected(record[0], raw, _missing_parents(record, parents))


def _either_form(ids) -> frozenset:
    """Parent ids as integers and as their text: a CSV record holds text, until the schema
    (which gives integers) checked it."""
    return frozenset(i for value in ids for i in (value, str(value)))

"""The report of a load, and its log lines.

`received == inserted + updated + unchanged + rejected`, always; the report lists the first
REPORT_REJECTS rejects (all of them are in load_rejects and at /loads/{id}/rejects).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, fields

log = logging.getLogger("hrapi.ingest")
reject_log = logging.getLogger("hrapi.rejects")

REPORT_REJECTS = 100  # rejects listed in a load report
LOG_RAW_CHARS = 200  # of a reject's raw text, in its log line


@dataclass
class LoadReport:
    """What a load did; `received == inserted + updated + unchanged + rejected`."""

    load_id: int
    table: str
    status: str
    source: str
    received: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects: list[dict] = field(default_factory=list)
    duration_ms: int = 0

    def as_dict(self) -> dict:
        """The fields as a dict (shallow: dataclasses.asdict deep-copies, and is slower)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def restart(self) -> None:
        """Counts back to zero, for a load that starts over through staging."""
        self.received = self.inserted = self.updated = self.unchanged = self.rejected = 0


def log_report(report: LoadReport) -> None:
    """One line with the counts, one per listed reject, one pointing to the rest."""
    log.info(
        "load load_id=%s table=%s status=%s received=%s inserted=%s updated=%s "
        "unchanged=%s rejected=%s ms=%s",
        report.load_id, report.table, report.status, report.received, report.inserted,
        report.updated, report.unchanged, report.rejected, report.duration_ms,
    )  # fmt: skip
    for reject in report.rejects:
        shown = {**reject, "raw": reject["raw"][:LOG_RAW_CHARS]}
        reject_log.info("reject load_id=%s %s", report.load_id, json.dumps(shown))
    if report.rejected > len(report.rejects):
        reject_log.info(
            "reject load_id=%s and %s more: GET /api/v1/loads/%s/rejects",
            report.load_id, report.rejected - len(report.rejects), report.load_id,
        )  # fmt: skip

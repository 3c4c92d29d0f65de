-- 003: the hire_counts triggers fire in every session, including one that skips per-row
-- triggers for a statement (session_replication_role = replica, as hrapi's loads do for their
-- checked rows, see sql/ingest/skip_key_checks.sql): the summary is kept by the database for
-- every writer, and no load counts hires by hand (a first load that paused the trigger and
-- counted in one pass at the end was tried and dropped: docs/performance.md).
-- On a logical-replication subscriber these triggers fire for replicated rows too: replicate
-- hired_employees and let them keep hire_counts there, rather than replicating both.
ALTER TABLE hired_employees ENABLE ALWAYS TRIGGER hire_counts_insert;
ALTER TABLE hired_employees ENABLE ALWAYS TRIGGER hire_counts_delete;
ALTER TABLE hired_employees ENABLE ALWAYS TRIGGER hire_counts_update;
ALTER TABLE hired_employees ENABLE ALWAYS TRIGGER hire_counts_truncate;

-- 014: a first load of an empty hired_employees does not count its hires statement by
-- statement (the hire_counts_insert trigger is disabled inside its transaction, which holds
-- the table locked with its primary key dropped); it leaves a mark here instead, committed with
-- its rows. While a mark is there the summary (hire_counts_folded + hire_count_changes) is
-- stale: the insights answer from hired_employees itself (sql/insights_reference, the plain
-- queries the summary's must equal), and the fold that follows the load's response rebuilds
-- the summary from the table in one statement (sql/ingest/rebuild_hire_counts.sql), deleting
-- the marks it saw. The trigger's grouping was about a third of PostgreSQL's work in a first
-- load, on its critical path (docs/performance.md).
CREATE TABLE hire_counts_stale (
    load_id    bigint      NOT NULL,  -- the first load that left its hires uncounted
    marked_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);  -- no key: a row per first load, all deleted by the rebuild that counts them

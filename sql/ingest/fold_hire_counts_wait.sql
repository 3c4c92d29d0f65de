-- A rebuild of the hire counts (rebuild_hire_counts.sql) waits for a fold under way, where a
-- fold leaves the summary to the one folding (fold_hire_counts_lock.sql, the same key).
SELECT pg_advisory_xact_lock(7413002)

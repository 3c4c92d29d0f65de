-- Whether a first load left the hire counts summary to be rebuilt (mark_hire_counts_stale.sql).
SELECT EXISTS (SELECT FROM hire_counts_stale)

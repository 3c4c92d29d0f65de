-- One fold at a time (fold_hire_counts.sql): true if this transaction may fold now; a process
-- that finds another one folding leaves it to that one.
SELECT pg_try_advisory_xact_lock(7413002)

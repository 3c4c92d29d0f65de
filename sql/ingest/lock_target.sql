-- Loads (and restores) of one table merge one at a time, so that "new", "unchanged" and
-- "conflict" are decided against rows no concurrent load is changing. Staging is not locked.
SELECT pg_advisory_xact_lock(hashtext('hrapi.table.' || {table_name}))

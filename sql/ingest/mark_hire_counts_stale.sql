-- The hire counts summary misses this first load's hires (pause_hire_counts.sql): marked, in
-- the load's transaction, so that the insights count the table itself until the rebuild
-- (rebuild_hire_counts.sql) has counted them.
INSERT INTO hire_counts_stale (load_id) VALUES (%(load_id)s)

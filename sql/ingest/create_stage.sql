-- The database session's staging table for loads into this table, created by its first load:
-- shaped like the table, plus where each row came from (not its raw text: the load reads it
-- again from its input for the few rows a step rejects, see create_set_rejects.sql). Emptied
-- whenever a transaction ends; kept for the next load, so that a load does not create and
-- drop a table (and re-plan its statements) each time.
CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS
SELECT 0 AS line, {columns}
FROM {target}
WITH NO DATA

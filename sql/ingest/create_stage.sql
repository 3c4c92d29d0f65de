-- The database session's staging table for loads into this table, created by its first load:
-- shaped like the table, plus where each row came from and its raw text (left out, NULL, for
-- JSON rows until a step rejects one: then the reject's raw is '' until the load fills it in,
-- see fill_reject_raws.sql). Emptied whenever a transaction ends; kept for the next load, so
-- that a load does not create and drop a table (and re-plan its statements) each time.
CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS
SELECT 0 AS line, ''::text AS raw, {columns}
FROM {target}
WITH NO DATA

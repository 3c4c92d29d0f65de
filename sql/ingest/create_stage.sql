-- A session-local staging table shaped like the target, plus where each row came from.
-- Dropped when the load's transaction ends.
CREATE TEMP TABLE {stage} ON COMMIT DROP AS
SELECT 0 AS line, ''::text AS raw, {columns}
FROM {target}
WITH NO DATA

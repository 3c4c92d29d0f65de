-- A session-local staging table shaped like the target, plus where each row came from and,
-- for rows that failed the row check, why. Dropped when the load's transaction ends.
CREATE TEMP TABLE {stage} ON COMMIT DROP AS
SELECT 0 AS line, ''::text AS raw, NULL::jsonb AS reasons, {columns}
FROM {target}
WITH NO DATA

-- The backup's rows land here first, with the table's keys and checks (not its foreign keys),
-- so a backup with repeated ids or invalid values fails before the table is touched.
CREATE TEMP TABLE {stage} (LIKE {target} INCLUDING ALL) ON COMMIT DROP

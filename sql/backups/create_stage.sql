-- A restore's rows land here first, with the table's checks but no index yet (key_stage.sql
-- builds the primary key once they are all in, faster than keeping it up row by row), so a
-- backup with repeated ids or invalid values fails before the table is touched. Each table has
-- its own (a set restores three in one transaction); dropped when the restore ends.
CREATE TEMP TABLE {stage} (LIKE {target} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) ON COMMIT DROP

-- The first load of an empty table (strategies.into_table) goes in without its primary key,
-- which add_primary_key.sql builds again, in the same transaction, once every row is in: one
-- sort of the ids costs the server much less than a probe of the index per row (see
-- docs/performance.md). Dropping the key locks the table until the load commits, readers too
-- (a page of rows or a backup waits 3 s, then answers 503: sql/tables/wait_for_loads.sql); the
-- table was empty, so a reader had nothing to see before the load committed anyway.
ALTER TABLE {target} DROP CONSTRAINT {primary_key}

-- The first load of an empty table (locked, see lock_target_exclusive.sql) copies its rows in
-- without the primary key and builds the key once at the end (add_primary_key.sql): one sort
-- of the ids instead of a descent of the index per row. In the load's transaction: if the
-- key cannot be built (a repeated id), the rollback restores it as it was.
ALTER TABLE {target} DROP CONSTRAINT {primary_key}

-- Large loads: no per-row foreign-key probe while inserting (the lock this takes keeps every
-- other reader and writer of the table out until the load commits, key re-added).
ALTER TABLE {target} DROP CONSTRAINT {constraint}

-- After loading an empty table: statistics for the planner now, not when autovacuum comes by
-- (later loads look their rows up by key only if the planner knows the table is large).
ANALYZE {target}

-- A direct load of an empty table: no other session may write the table until this one
-- commits (readers go on, seeing it empty), so that the only ids the load can meet are its own.
LOCK TABLE {target} IN SHARE ROW EXCLUSIVE MODE

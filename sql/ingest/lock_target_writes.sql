-- A direct load of hires (strategies.into_table): no other session may write the table until
-- this one commits (readers go on), so that the only ids the load can meet are its own and the
-- stored ones, which make it give way to staging.
LOCK TABLE {target} IN SHARE ROW EXCLUSIVE MODE

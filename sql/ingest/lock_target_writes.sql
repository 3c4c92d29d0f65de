-- A direct load: no other session may write the table until this one commits (readers go on,
-- seeing it empty), so the table stays empty while the load fills it, and the load's count of
-- its hires (count_loaded_hires.sql) is a count of the whole table.
LOCK TABLE {target} IN SHARE ROW EXCLUSIVE MODE

-- The first load of an empty table: nobody else reads or writes it until this load commits,
-- so that its primary key can be built once after the rows are in (drop_primary_key.sql), and
-- its hires counted as the whole table (count_loaded_hires.sql).
LOCK TABLE {target} IN ACCESS EXCLUSIVE MODE

-- Whether the table holds no row, asked by a direct load with the table locked against other
-- writers (lock_target_writes.sql): the migration's first load, whose primary key is built
-- after its rows are in (drop_primary_key.sql).
SELECT NOT EXISTS (SELECT 1 FROM {target})

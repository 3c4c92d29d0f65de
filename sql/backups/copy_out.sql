-- The whole table in id order, streamed out (one statement: one consistent snapshot; a set
-- reads its three tables in one REPEATABLE READ transaction).
COPY (SELECT {columns} FROM {target} ORDER BY id) TO STDOUT (FORMAT BINARY)

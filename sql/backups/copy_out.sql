-- The whole table in id order, streamed out (one statement: one consistent snapshot).
COPY (SELECT {columns} FROM {target} ORDER BY id) TO STDOUT (FORMAT BINARY)

-- What is left in staging is new: insert it. The row count is "inserted". (Small loads try
-- this first; if an id is stored already, the primary key refuses it and the load handles
-- unchanged rows and conflicts first, then inserts.)
INSERT INTO {target} ({columns})
SELECT {columns} FROM {stage}

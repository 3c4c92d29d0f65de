-- What is left in staging is new: insert it. The row count is "inserted".
INSERT INTO {target} ({columns})
SELECT {columns} FROM {stage}

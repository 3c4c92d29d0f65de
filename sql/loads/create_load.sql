-- A load is on record before its data transaction starts (committed on its own).
INSERT INTO loads (table_name, source, filename, on_conflict)
VALUES (%(table)s, %(source)s, %(filename)s, %(on_conflict)s)
RETURNING id

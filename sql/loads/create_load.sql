-- A load's record: a CSV load's committed on its own before its data transaction starts, a
-- JSON batch's in the batch's own transaction (see hrapi/ingest/pipeline.py).
INSERT INTO loads (table_name, source, filename, on_conflict, options, request_id)
VALUES (%(table)s, %(source)s, %(filename)s, %(on_conflict)s, %(options)s, %(request_id)s)
RETURNING id

-- A JSON batch that went straight into its table, put on record once its rows are in: in the
-- batch's own transaction, like its rows, and complete at once (one statement where
-- create_load.sql and complete_load.sql take two; no other session sees the record before
-- the batch commits either way). It started duration_ms before it was recorded.
INSERT INTO loads (table_name, source, filename, on_conflict, options, request_id, status,
                   received, inserted, updated, unchanged, rejected, started_at, finished_at,
                   duration_ms)
SELECT %(table)s, %(source)s, %(filename)s, %(on_conflict)s, %(options)s, %(request_id)s,
       %(status)s, %(received)s, %(inserted)s, %(updated)s, %(unchanged)s, %(rejected)s,
       finished - %(duration_ms)s * interval '1 millisecond', finished, %(duration_ms)s
FROM clock_timestamp() AS finished
RETURNING id

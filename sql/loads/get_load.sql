SELECT id, table_name, source, filename, on_conflict, status, received, inserted, updated,
       unchanged, rejected, error, started_at, finished_at, duration_ms, options, request_id
FROM loads
WHERE id = %(load_id)s

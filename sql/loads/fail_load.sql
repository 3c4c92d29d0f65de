-- The load's transaction rolled back: nothing of it is in the tables.
UPDATE loads
SET status = 'failed', error = %(error)s, finished_at = clock_timestamp(),
    duration_ms = %(duration_ms)s
WHERE id = %(load_id)s AND status = 'running'

-- Committed together with the load's data, so the record and the tables always agree.
UPDATE loads
SET status = 'completed', received = %(received)s, inserted = %(inserted)s,
    updated = %(updated)s, unchanged = %(unchanged)s, rejected = %(rejected)s,
    finished_at = clock_timestamp(),
    duration_ms = %(duration_ms)s
WHERE id = %(load_id)s

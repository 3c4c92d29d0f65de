-- Committed together with the load's data, so the record and the tables always agree. The
-- status is completed, dry_run (nothing of the data kept) or aborted (a reject limit passed).
UPDATE loads
SET status = %(status)s, received = %(received)s, inserted = %(inserted)s,
    updated = %(updated)s, unchanged = %(unchanged)s, rejected = %(rejected)s,
    finished_at = clock_timestamp(),
    duration_ms = %(duration_ms)s
WHERE id = %(load_id)s

-- A running load's heartbeat, from outside its transaction: how many rows it has read so far,
-- and the server process its transaction runs in (behind a transaction pooler, not the one
-- that created the record).
UPDATE loads
SET received = %(received)s, heartbeat_at = clock_timestamp(),
    backend_pid = coalesce(%(backend_pid)s, backend_pid)
WHERE id = %(load_id)s AND status = 'running'

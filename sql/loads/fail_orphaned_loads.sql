-- Loads still 'running' that cannot be: the database session of their transaction is gone (the
-- database restarted, or the worker died and its connection closed), or their worker stopped
-- beating (see 009_request_ids_and_heartbeats.sql; half a minute of silence is death, which
-- also covers a pooled server connection that another client took over). Their transaction
-- was rolled back, so they failed. Run whenever the load history is read (GET /loads and
-- /loads/{id}), so that nobody is shown such a load running.
UPDATE loads l
SET status = 'failed', finished_at = clock_timestamp(),
    error = 'the load''s database session ended before it committed; nothing of it was stored'
WHERE l.status = 'running'
  AND (l.heartbeat_at < clock_timestamp() - interval '30 seconds'
       OR NOT EXISTS (
           SELECT 1 FROM pg_stat_activity a
           WHERE a.pid = l.backend_pid AND a.backend_start <= l.started_at
       ))

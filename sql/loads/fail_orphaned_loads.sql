-- Loads still 'running' whose database session is gone (the database restarted, or the
-- worker died): their transaction was rolled back, so they failed. Run whenever the load
-- history is read (GET /loads and /loads/{id}), so that nobody is shown such a load running.
UPDATE loads l
SET status = 'failed', finished_at = clock_timestamp(),
    error = 'the load''s database session ended before it committed; nothing of it was stored'
WHERE l.status = 'running'
  AND NOT EXISTS (
      SELECT 1 FROM pg_stat_activity a
      WHERE a.pid = l.backend_pid AND a.backend_start <= l.started_at
  )

-- The server process this transaction runs in (what pg_stat_activity knows it by).
SELECT pg_backend_pid()

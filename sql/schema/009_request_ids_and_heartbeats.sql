-- 009: each load keeps the id of the request that made it (X-Request-ID), and a running load
-- beats: its worker updates `received` and `heartbeat_at` every second from outside the load's
-- transaction, so that its progress shows, and a load whose worker died is known by its silence
-- (fail_orphaned_loads.sql). The backend's pid cannot tell that behind a transaction pooler
-- such as PgBouncer, where a load's statements may run on any server connection.
ALTER TABLE loads ADD COLUMN request_id text;
ALTER TABLE loads ADD COLUMN heartbeat_at timestamptz NOT NULL DEFAULT clock_timestamp();

-- How long a read of a table (a page of its rows, a backup) waits for a load that holds it (the
-- first load of an empty table does, until it commits: sql/ingest/drop_primary_key.sql) before
-- it answers 503: a worker is not tied up for the length of a load, however many readers come.
SET LOCAL lock_timeout = '3s'

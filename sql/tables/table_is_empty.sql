-- Whether the table holds no row: a restore into an empty table copies the backup straight in
-- (nothing to merge), and a direct load into one builds its primary key after its rows
-- (sql/ingest/drop_primary_key.sql). Both ask with the table locked against other writers.
SELECT NOT EXISTS (SELECT 1 FROM {target})

-- A restore excludes every writer of its table until it commits (readers go on): loads wait at
-- the table's merge lock (see sql/ingest/lock_target.sql), and batches, which insert without
-- it, at the table lock. Taken once the backup is staged, so writers wait only for the merge;
-- each statement after it sees every write that committed before it, so that when the restore
-- commits the table equals the backup.
SELECT pg_advisory_xact_lock(hashtext('hrapi.table.' || {table_name}));
LOCK TABLE {target} IN SHARE ROW EXCLUSIVE MODE

-- After a fold (fold_hire_counts.sql), outside any transaction: the rows it deleted from the
-- log, and the summary rows it replaced, are made free space again. Each fold deletes every
-- logged row, so without this the log only grows where autovacuum is off or slow (seen on a
-- server with autovacuum off: 240 MB of dead rows after a few loads, which every fold and
-- every insight then read through: a fold took 0.3 s instead of a few ms). SKIP_LOCKED: a
-- vacuum already running, or a migration, is not waited for.
VACUUM (SKIP_LOCKED) hire_count_changes, hire_counts_folded

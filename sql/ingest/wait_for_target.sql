-- How long a JSON batch waits for a load that holds its table before it answers 503, as a read
-- of the table does (sql/tables/wait_for_loads.sql): the first load of an empty table holds
-- it until it commits (drop_primary_key.sql), and a load of hires holds departments and jobs
-- against writes (lock_parents.sql). So batches that come meanwhile do not tie up every worker
-- for the length of someone else's load. Once the table is locked, the rest of the batch waits
-- as long as it must (the server's own lock_timeout again).
SET LOCAL lock_timeout = '3s';
LOCK TABLE {target} IN ROW EXCLUSIVE MODE;
SET LOCAL lock_timeout TO DEFAULT

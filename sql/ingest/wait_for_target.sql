-- How long a JSON batch waits for a load that holds its table (the first load of an empty table
-- does, until it commits: drop_primary_key.sql) before it answers 503, as a read of the table
-- does (sql/tables/wait_for_loads.sql): batches that come during a long first load do not tie
-- up every worker for its length. Once the table is locked, the rest of the batch waits as
-- long as it must (the server's own lock_timeout again).
SET LOCAL lock_timeout = '3s';
LOCK TABLE {target} IN ROW EXCLUSIVE MODE;
SET LOCAL lock_timeout TO DEFAULT

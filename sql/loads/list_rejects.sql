-- A page of a load's rejects in input order (keyset pagination on line).
-- The load is named as a range of the primary key, from (load, after) to (load, the largest
-- line), rather than as load_id = load: without statistics (a table just loaded, a server
-- without autovacuum) the planner expected about a hundred rows for load_id = load, and read
-- every reject of the load to sort them for each page (8-14 ms for 35,000 rejects); as a range
-- it walks the key in order and stops at the page's end (0.05 ms).
SELECT line, raw, errors
FROM load_rejects
WHERE (load_id, line) > (%(load_id)s, %(after)s)
  AND (load_id, line) <= (%(load_id)s, 2147483647)
ORDER BY load_id, line
LIMIT %(limit)s

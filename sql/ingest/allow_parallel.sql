-- The next query (counting a million loaded rows) scans in parallel: idle cores do part of it
-- while the load waits. Parallel plans are otherwise left to the planner's own costs.
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0

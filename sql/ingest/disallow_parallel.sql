-- Back to the planner's own costs for parallel plans (see allow_parallel.sql).
SET LOCAL parallel_setup_cost TO DEFAULT;
SET LOCAL parallel_tuple_cost TO DEFAULT

-- Running hrapi's schema on Citus (not applied by hrapi; run once by hand after hrapi has
-- created its schema on the coordinator). Verified only on paper: no Citus runs here.
--
-- departments and jobs are small and joined with every hire: copies on every worker.
SELECT create_reference_table('departments');
SELECT create_reference_table('jobs');

-- hired_employees is the large table: sharded by its key. Foreign keys from a distributed
-- table to reference tables are supported, so they stay declared.
SELECT create_distributed_table('hired_employees', 'id');

-- hire_counts is small (years x departments x jobs x 4) and read by the insights: a reference
-- table. Citus does not run statement-level triggers with transition tables on distributed
-- tables, so on Citus the triggers of 002_hire_counts.sql must be replaced by refreshing it at
-- the end of each load, e.g. with the aggregate at the end of 002 limited to the load's rows.
SELECT create_reference_table('hire_counts');

-- The ingestion history stays on the coordinator.
-- loads, load_rejects, schema_migrations: plain local tables (nothing to do).

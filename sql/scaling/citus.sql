-- Running hrapi's schema on Citus (not applied by hrapi; run once by hand after hrapi has
-- created its schema on the coordinator). Verified only on paper: no Citus runs here.
--
-- departments and jobs are small and joined with every hire: copies on every worker.
SELECT create_reference_table('departments');
SELECT create_reference_table('jobs');

-- hired_employees is the large table: sharded by its key. Foreign keys from a distributed
-- table to reference tables are supported, so they stay declared.
SELECT create_distributed_table('hired_employees', 'id');

-- The hire counts (the view hire_counts over hire_counts_folded and hire_count_changes, see
-- 004_hire_count_changes.sql) are small (years x departments x jobs x 4) and read by the
-- insights: reference tables. Citus does not run statement-level triggers with transition
-- tables on distributed tables, so on Citus the triggers must be replaced by logging each
-- load's counts at its end (the aggregate of the trigger, limited to the load's rows).
SELECT create_reference_table('hire_counts_folded');
SELECT create_reference_table('hire_count_changes');

-- The ingestion history stays on the coordinator.
-- loads, load_rejects, schema_migrations: plain local tables (nothing to do).

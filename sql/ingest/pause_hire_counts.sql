-- A first load of hires (strategies.into_table, with drop_primary_key.sql: the table is empty
-- and locked until the load commits) does not count its rows statement by statement: the
-- trigger is off inside this transaction only (a rollback turns it on again), and
-- mark_hire_counts_stale.sql leaves the summary to be rebuilt once the load has committed
-- (sql/schema/014_hire_counts_rebuilt_after_first_loads.sql).
ALTER TABLE hired_employees DISABLE TRIGGER hire_counts_insert

-- See pause_hire_counts.sql and sql/schema/003_hire_counts_always.sql.
ALTER TABLE hired_employees ENABLE ALWAYS TRIGGER hire_counts_insert

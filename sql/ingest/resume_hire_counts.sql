-- The first load's rows are in (pause_hire_counts.sql): the trigger counts every later write
-- again, in every session (ENABLE ALWAYS, as sql/schema/003_hire_counts_always.sql set it).
ALTER TABLE hired_employees ENABLE ALWAYS TRIGGER hire_counts_insert

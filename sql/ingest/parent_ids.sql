-- The departments and jobs that exist (read once the parents are locked, see lock_parents.sql).
SELECT ARRAY(SELECT id FROM departments), ARRAY(SELECT id FROM jobs)

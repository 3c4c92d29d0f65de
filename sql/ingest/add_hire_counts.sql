-- The first load of an empty hires table, which paused the hire_counts insert trigger
-- (pause_hire_counts.sql), logs the hires it counted (count_loaded_hires.sql) as the trigger
-- would have (see sql/schema/004_hire_count_changes.sql).
INSERT INTO hire_count_changes (year, department_id, job_id, quarter, hires)
SELECT year, department_id, job_id, quarter, hires
FROM jsonb_to_recordset(%(counts)s::jsonb)
     AS k (year integer, department_id integer, job_id integer, quarter integer, hires bigint)

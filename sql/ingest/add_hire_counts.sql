-- The first load of an empty hires table, which paused the hire_counts insert trigger
-- (pause_hire_counts.sql), adds the hires it counted (count_loaded_hires.sql), keys in primary
-- key order as the trigger writes them, so that concurrent writers lock summary rows in the
-- same order.
INSERT INTO hire_counts AS c (year, department_id, job_id, quarter, hires)
SELECT year, department_id, job_id, quarter, hires
FROM jsonb_to_recordset(%(counts)s::jsonb)
     AS k (year integer, department_id integer, job_id integer, quarter integer, hires bigint)
ORDER BY 1, 2, 3, 4
ON CONFLICT (year, department_id, job_id, quarter)
DO UPDATE SET hires = c.hires + excluded.hires

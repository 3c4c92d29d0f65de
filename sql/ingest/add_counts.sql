-- Add a direct load's counts to hire_counts (in primary key order, as the trigger does).
INSERT INTO hire_counts AS c (year, department_id, job_id, quarter, hires)
SELECT year, department_id, job_id, quarter, hires
FROM hrapi_counts_stage
ORDER BY 1, 2, 3, 4
ON CONFLICT (year, department_id, job_id, quarter)
DO UPDATE SET hires = c.hires + excluded.hires

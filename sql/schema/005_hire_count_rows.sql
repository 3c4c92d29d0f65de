-- 005: the rows behind the hire_counts view (004), for the insights to sum in one step.
-- hire_counts sums them per (year, department, job, quarter) first, which the insights do
-- not need: they sum per department and job anyway, and a second aggregation over the
-- year's keys cost them a few milliseconds (measured with 10M hires: 9 ms instead of 6).
CREATE VIEW hire_count_rows AS
SELECT year, department_id, job_id, quarter, hires FROM hire_counts_folded
UNION ALL
SELECT year, department_id, job_id, quarter, hires FROM hire_count_changes;

CREATE OR REPLACE VIEW hire_counts AS
SELECT year, department_id, job_id, quarter, sum(hires)::bigint AS hires
FROM hire_count_rows
GROUP BY year, department_id, job_id, quarter;

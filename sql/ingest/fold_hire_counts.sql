-- Moves the hire counts the triggers logged (hire_count_changes) into the folded sums, in one
-- statement (see sql/schema/004_hire_count_changes.sql): the hire_counts view reads the same
-- totals before and after. Changes logged by transactions that commit meanwhile are not seen,
-- so not deleted, and are folded next time. Keys in primary key order, so that two folds lock
-- summary rows in the same order (fold_hire_counts_lock.sql lets one run at a time anyway).
WITH folded AS (
    DELETE FROM hire_count_changes
    RETURNING year, department_id, job_id, quarter, hires
)
INSERT INTO hire_counts_folded AS c (year, department_id, job_id, quarter, hires)
SELECT year, department_id, job_id, quarter, sum(hires)
FROM folded
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
ON CONFLICT (year, department_id, job_id, quarter)
DO UPDATE SET hires = c.hires + excluded.hires

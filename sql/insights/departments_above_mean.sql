-- Departments that hired more than the mean number of hires per department in one year (UTC).
-- The mean is over all departments: one without hires that year counts as zero. One row per
-- department above the mean, each carrying the mean; a single row with NULLs when none is.
-- Sums the rows of the hire counts summary (sql/schema/004 and 005); equal to
-- sql/insights_reference's plain query.
WITH hired AS (
    SELECT d.id, d.department, coalesce(sum(c.hires), 0) AS hired
    FROM departments d
    LEFT JOIN hire_count_rows c ON c.department_id = d.id AND c.year = %(year)s
    GROUP BY d.id, d.department
), mean AS (
    SELECT coalesce(avg(hired), 0) AS mean FROM hired
)
SELECT m.mean, a.id, a.department, a.hired
FROM mean m
LEFT JOIN hired a ON a.hired > m.mean
ORDER BY a.hired DESC, lower(a.department COLLATE "C") COLLATE "C", a.department COLLATE "C",
         a.id

-- The plain query over hired_employees: the reference the summary-based one in sql/insights
-- must equal (tests and make bench compare them).
-- Departments that hired more than the mean number of hires per department in one year (UTC).
-- The mean is over all departments: one without hires that year counts as zero. One row per
-- department above the mean, each carrying the mean; a single row with NULLs when none is.
WITH hired AS (
    SELECT d.id, d.department, count(h.id) AS hired
    FROM departments d
    LEFT JOIN hired_employees h
           ON h.department_id = d.id
          AND h.datetime >= make_timestamptz(%(year)s, 1, 1, 0, 0, 0, 'UTC')
          AND h.datetime < make_timestamptz(%(year)s + 1, 1, 1, 0, 0, 0, 'UTC')
    GROUP BY d.id, d.department
), mean AS (
    SELECT coalesce(avg(hired), 0) AS mean FROM hired
)
SELECT m.mean, a.id, a.department, a.hired
FROM mean m
LEFT JOIN hired a ON a.hired > m.mean
ORDER BY a.hired DESC, lower(a.department COLLATE "C") COLLATE "C", a.department COLLATE "C",
         a.id

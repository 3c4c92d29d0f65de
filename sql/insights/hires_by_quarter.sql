-- Hires per department and job in one year, by quarter (UTC), for pairs with at least one
-- hire; ordered by department, then job, case-insensitively (ASCII), ties by the exact text.
-- Sums the rows of the hire counts summary (sql/schema/004 and 005: a pair's hires are the
-- sum of its rows, folded or logged); equal to sql/insights_reference's plain query over
-- hired_employees. COLLATE "C" keeps the order independent of the database's locale.
SELECT d.department,
       j.job,
       coalesce(sum(c.hires) FILTER (WHERE c.quarter = 1), 0)::integer AS "Q1",
       coalesce(sum(c.hires) FILTER (WHERE c.quarter = 2), 0)::integer AS "Q2",
       coalesce(sum(c.hires) FILTER (WHERE c.quarter = 3), 0)::integer AS "Q3",
       coalesce(sum(c.hires) FILTER (WHERE c.quarter = 4), 0)::integer AS "Q4"
FROM hire_count_rows c
JOIN departments d ON d.id = c.department_id
JOIN jobs j ON j.id = c.job_id
WHERE c.year = %(year)s
GROUP BY d.id, d.department, j.id, j.job
HAVING sum(c.hires) > 0
ORDER BY lower(d.department COLLATE "C") COLLATE "C", d.department COLLATE "C", d.id,
         lower(j.job COLLATE "C") COLLATE "C", j.job COLLATE "C", j.id

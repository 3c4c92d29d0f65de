-- The plain query over hired_employees: the reference the summary-based one in sql/insights
-- must equal (tests and make bench compare them).
-- Hires per department and job in one year, by quarter (UTC), for pairs with at least one
-- hire; ordered by department, then job, case-insensitively (ASCII), ties by the exact text.
-- COLLATE "C" and AT TIME ZONE 'UTC' make the answer independent of the database's locale
-- and of the session's time zone.
SELECT d.department,
       j.job,
       count(*) FILTER (WHERE h.quarter = 1) AS "Q1",
       count(*) FILTER (WHERE h.quarter = 2) AS "Q2",
       count(*) FILTER (WHERE h.quarter = 3) AS "Q3",
       count(*) FILTER (WHERE h.quarter = 4) AS "Q4"
FROM (
    SELECT department_id, job_id,
           extract(quarter FROM datetime AT TIME ZONE 'UTC')::integer AS quarter
    FROM hired_employees
    WHERE datetime >= make_timestamptz(%(year)s, 1, 1, 0, 0, 0, 'UTC')
      AND datetime < make_timestamptz(%(year)s + 1, 1, 1, 0, 0, 0, 'UTC')
) h
JOIN departments d ON d.id = h.department_id
JOIN jobs j ON j.id = h.job_id
GROUP BY d.id, d.department, j.id, j.job
ORDER BY lower(d.department COLLATE "C") COLLATE "C", d.department COLLATE "C", d.id,
         lower(j.job COLLATE "C") COLLATE "C", j.job COLLATE "C", j.id

-- The hire counts summary made again from hired_employees, after a first load that did not
-- count its hires (mark_hire_counts_stale.sql), in one statement: its one snapshot, taken
-- once the table's lock is granted (a first load under way holds it until it commits), sees
-- the rows, the logged changes and the marks of the same committed writes. Those changes and
-- marks are deleted; a write that commits meanwhile is not seen, so its rows are not counted
-- here, and its logged changes (or its mark, a first load's) stay for the next fold. The
-- grouping is the hire_counts triggers' (sql/schema/013). The deletions run after the
-- insertion: the folded rows of keys counted again are updated in place, the others deleted.
WITH counted AS (
    SELECT date_part('year', quarter_start)::integer AS year, department_id, job_id,
           date_part('quarter', quarter_start)::integer AS quarter, hires
    FROM (SELECT date_trunc('quarter', datetime AT TIME ZONE INTERVAL '00:00') AS quarter_start,
                 department_id, job_id, count(*) AS hires
          FROM hired_employees
          GROUP BY 1, 2, 3) grouped
), marks AS (
    DELETE FROM hire_counts_stale
), logged AS (
    DELETE FROM hire_count_changes
), uncounted AS (
    DELETE FROM hire_counts_folded f
    WHERE NOT EXISTS (SELECT FROM counted c
                      WHERE (c.year, c.department_id, c.job_id, c.quarter)
                          = (f.year, f.department_id, f.job_id, f.quarter))
)
INSERT INTO hire_counts_folded AS f (year, department_id, job_id, quarter, hires)
SELECT year, department_id, job_id, quarter, hires
FROM counted
ORDER BY 1, 2, 3, 4
ON CONFLICT (year, department_id, job_id, quarter) DO UPDATE SET hires = excluded.hires

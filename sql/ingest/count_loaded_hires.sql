-- The first load of an empty hires table paused the hire_counts insert trigger
-- (pause_hire_counts.sql): the table was empty and is locked against other writers, so its
-- hires are exactly this load's. Counted in one pass, as the trigger counts them (UTC year
-- and quarter; date_part gives the same numbers as extract, faster); a query of its own (an
-- INSERT could not scan in parallel), whose rows copy_hire_counts.sql logs.
SELECT date_part('year', datetime AT TIME ZONE 'UTC')::integer, department_id, job_id,
       date_part('quarter', datetime AT TIME ZONE 'UTC')::integer, count(*)
FROM hired_employees
GROUP BY 1, 2, 3, 4

-- insert_new.sql for hires whose per-row triggers are skipped (skip_key_checks.sql): their
-- references were checked set-based just before, and the statement counts the hires it
-- inserts into hire_counts as the trigger would (UTC year and quarter, primary key order).
-- Answers how many it inserted.
WITH inserted AS (
    INSERT INTO hired_employees (id, name, datetime, department_id, job_id)
    SELECT id, name, datetime, department_id, job_id FROM {stage}
    RETURNING datetime, department_id, job_id
), counted AS (
    INSERT INTO hire_counts AS c (year, department_id, job_id, quarter, hires)
    SELECT date_part('year', datetime AT TIME ZONE 'UTC')::integer, department_id, job_id,
           date_part('quarter', datetime AT TIME ZONE 'UTC')::integer, count(*)
    FROM inserted
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (year, department_id, job_id, quarter)
    DO UPDATE SET hires = c.hires + excluded.hires
)
SELECT count(*) FROM inserted

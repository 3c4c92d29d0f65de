-- Hires whose department or job does not exist, where the load could not check them itself
-- (more parents than it holds in memory). One anti-join for the whole load instead of a
-- foreign-key probe per row; the declared foreign keys still guard the final INSERT.
WITH moved AS (
    DELETE FROM {stage} s
    WHERE NOT EXISTS (SELECT 1 FROM departments d WHERE d.id = s.department_id)
       OR NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = s.job_id)
    RETURNING s.line, s.department_id, s.job_id
), problems AS (
    SELECT m.line, e.field, e.message
    FROM moved m
    CROSS JOIN LATERAL (VALUES
        ('department_id', 'department ' || m.department_id || ' does not exist',
         NOT EXISTS (SELECT 1 FROM departments d WHERE d.id = m.department_id)),
        ('job_id', 'job ' || m.job_id || ' does not exist',
         NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = m.job_id))
    ) AS e(field, message, missing)
    WHERE e.missing
)
INSERT INTO hrapi_set_rejects (line, errors)  -- see create_set_rejects.sql
SELECT line,
       jsonb_agg(jsonb_build_object('field', field, 'code', 'foreign-key', 'message', message)
                 ORDER BY field)
FROM problems
GROUP BY line

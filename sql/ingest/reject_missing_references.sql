-- Hires whose department or job does not exist. One anti-join for the whole load instead of a
-- foreign-key probe per row; the declared foreign keys still guard the final INSERT.
WITH moved AS (
    DELETE FROM {stage} s
    WHERE NOT EXISTS (SELECT 1 FROM departments d WHERE d.id = s.department_id)
       OR NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = s.job_id)
    RETURNING s.line, s.raw, s.department_id, s.job_id
)
INSERT INTO load_rejects (load_id, line, raw, reasons)
SELECT %(load_id)s, m.line, coalesce(m.raw, ''),
       to_jsonb(array_remove(ARRAY[
           CASE WHEN NOT EXISTS (SELECT 1 FROM departments d WHERE d.id = m.department_id)
                THEN 'department_id: department ' || m.department_id || ' does not exist' END,
           CASE WHEN NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = m.job_id)
                THEN 'job_id: job ' || m.job_id || ' does not exist' END
       ], NULL))
FROM moved m

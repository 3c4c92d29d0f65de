-- Hires in the backup whose department or job does not exist now: how many, and the first
-- ten of their ids.
SELECT count(*), (array_agg(s.id ORDER BY s.id))[1:10]
FROM {stage} s
WHERE NOT EXISTS (SELECT 1 FROM departments d WHERE d.id = s.department_id)
   OR NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = s.job_id)

-- Hires that would point at a job the backup does not have.
SELECT count(*) FROM hired_employees h
WHERE NOT EXISTS (SELECT 1 FROM {stage} s WHERE s.id = h.job_id)

-- Hires that would point at a job the backup does not have: how many, and the first ten of
-- their ids.
SELECT count(*), (array_agg(h.id ORDER BY h.id))[1:10]
FROM hired_employees h
WHERE NOT EXISTS (SELECT 1 FROM {stage} s WHERE s.id = h.job_id)

SELECT id FROM jobs

-- Enough memory for the load's set-based steps (hashing a million ids) to stay in memory.
SET LOCAL work_mem = '256MB'

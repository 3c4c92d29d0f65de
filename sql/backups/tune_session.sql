-- Enough memory for the restore's joins over a million ids to stay in memory; no JIT (the
-- statements are few and short); no notices.
SET LOCAL work_mem = '256MB';
SET LOCAL jit = off;
SET LOCAL client_min_messages = warning

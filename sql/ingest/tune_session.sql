-- Enough memory for the load's set-based steps (hashing a million ids) to stay in memory; no
-- JIT compilation (the steps are short, and compiling one costs more than it would save); no
-- notice that the session's staging table exists already (create_stage.sql).
SET LOCAL work_mem = '256MB';
SET LOCAL jit = off;
SET LOCAL client_min_messages = warning

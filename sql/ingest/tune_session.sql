-- Enough memory for the load's set-based steps (hashing a million ids) to stay in memory, and
-- no JIT compilation: the steps are short, and compiling one costs more than it would save.
SET LOCAL work_mem = '256MB';
SET LOCAL jit = off

-- Enough memory for the load's set-based steps (hashing a million ids), for the hire_counts
-- trigger's transition table of a direct COPY statement (100,000 rows; spilled to temporary
-- files at the default 4MB, it cost a first load of 1M rows about 0.5 s more) to stay in
-- memory, and for the sort that builds a first load's primary key (add_primary_key.sql); no
-- JIT compilation (the steps are short, and compiling one costs more than it would save); no
-- notice that the session's staging table exists already (create_stage.sql).
SET LOCAL work_mem = '256MB';
SET LOCAL maintenance_work_mem = '256MB';
SET LOCAL jit = off;
SET LOCAL client_min_messages = warning

-- The first load of an empty hires table, which paused the hire_counts insert trigger
-- (pause_hire_counts.sql), logs the hires it counted (count_loaded_hires.sql) as the trigger
-- would have (see sql/schema/004_hire_count_changes.sql): the counted rows are copied back as
-- they come, never built into one parameter (a JSON array of every key had cost the worker
-- megabytes at the end of a large load).
COPY hire_count_changes (year, department_id, job_id, quarter, hires) FROM STDIN

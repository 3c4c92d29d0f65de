-- The primary key again, after a first load's rows (see drop_primary_key.sql), with its name.
-- An id that repeats fails it with a unique violation: the load is rolled back (the key with
-- it) and starts over through staging, which words the repeats as rejects.
ALTER TABLE {target} ADD CONSTRAINT {primary_key} PRIMARY KEY (id)

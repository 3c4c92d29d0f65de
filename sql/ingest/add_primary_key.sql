-- See drop_primary_key.sql. A repeated id makes this fail with a unique violation: the load
-- then starts over through staging, which rejects the repeats with their lines.
ALTER TABLE {target} ADD CONSTRAINT {primary_key} PRIMARY KEY (id)

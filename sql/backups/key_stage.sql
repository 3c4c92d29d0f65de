-- The staged rows' primary key, built in one pass: a backup that holds an id twice fails here
-- (unique_violation, "Key (id)=(...) is duplicated"). Then the planner learns the stage's size.
ALTER TABLE {stage} ADD PRIMARY KEY (id);
ANALYZE {stage}

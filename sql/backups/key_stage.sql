-- The staged rows' primary key, built in one pass once they are in, for a backup whose ids do
-- not rise row after row: one that holds an id twice fails here (unique_violation,
-- "Key (id)=(...) is duplicated").
ALTER TABLE {stage} ADD PRIMARY KEY (id)

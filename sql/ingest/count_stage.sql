-- A dry run: the staged rows left after every reject step, which a load would insert.
SELECT count(*) FROM {stage}

-- A dry run with on_conflict=update: the staged rows whose id is stored with other values
-- (unchanged ones are dropped already), which a load would update; they leave the stage.
WITH moved AS (
    DELETE FROM {stage} s USING {target} t WHERE t.id = s.id RETURNING s.line
)
SELECT count(*) FROM moved

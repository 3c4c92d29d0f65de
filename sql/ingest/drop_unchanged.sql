-- Rows already stored with exactly these values: nothing to do; the row count is "unchanged".
-- Joined on id alone, the values compared within each pair found (IS NOT DISTINCT FROM keeps
-- them out of the join's key: hashing every column of both sides cost a third more; every
-- column is NOT NULL, so it means =). Staged ids that rose come with their bounds (see
-- stage_overlaps_target.sql): only the stored rows within them are read.
DELETE FROM {stage} s
USING {target} t
WHERE t.id = s.id AND ({target_value_columns}) IS NOT DISTINCT FROM ({stage_value_columns})
  AND t.id BETWEEN coalesce(%(first_id)s, 0) AND coalesce(%(last_id)s, 2147483647)

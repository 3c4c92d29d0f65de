-- Rows already stored with exactly these values: nothing to do; the row count is "unchanged".
DELETE FROM {stage} s
USING {target} t
WHERE t.id = s.id AND ({target_columns}) = ({stage_columns})

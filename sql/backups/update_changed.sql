UPDATE {target} t
SET ({value_columns}) = ROW({stage_value_columns})
FROM {stage} s
WHERE s.id = t.id AND ({target_columns}) <> ({stage_columns})

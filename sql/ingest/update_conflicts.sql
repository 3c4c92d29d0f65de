-- on_conflict=update: rows whose id is stored with other values replace them. The row count
-- of the DELETE is the number updated.
WITH updated AS (
    UPDATE {target} t
    SET ({value_columns}) = ROW({stage_value_columns})
    FROM {stage} s
    WHERE t.id = s.id
    RETURNING s.line
)
DELETE FROM {stage} s USING updated u WHERE s.line = u.line

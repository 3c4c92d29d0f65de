-- Rows whose id is stored with other values, when the client did not ask to update them.
WITH moved AS (
    DELETE FROM {stage} s
    USING {target} t
    WHERE t.id = s.id
    RETURNING s.line, s.id, to_jsonb(t) - 'id' AS stored
)
INSERT INTO hrapi_set_rejects (line, errors)  -- see create_set_rejects.sql
SELECT line,
       jsonb_build_array(jsonb_build_object('field', 'id', 'code', 'primary-key',
                                            'message', message))
FROM moved,
     LATERAL (SELECT id || ' already exists with other values ' || stored::text
                     || '; send on_conflict=update to replace them' AS message) m

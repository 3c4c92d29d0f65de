-- An id seen earlier in the same load: the first one wins, the later ones are rejected.
WITH firsts AS (
    SELECT id, min(line) AS first_line
    FROM {stage}
    GROUP BY id
    HAVING count(*) > 1
), moved AS (
    DELETE FROM {stage} s
    USING firsts f
    WHERE s.id = f.id AND s.line > f.first_line
    RETURNING s.line, s.id, f.first_line
)
INSERT INTO hrapi_set_rejects (line, errors)  -- see create_set_rejects.sql
SELECT line,
       jsonb_build_array(jsonb_build_object('field', 'id', 'code', 'primary-key',
                                            'message', message))
FROM moved,
     LATERAL (SELECT id || ' already appears at ' || %(position)s || ' ' || first_line
                     || ' of this load' AS message) m

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
    RETURNING s.line, s.raw, s.id, f.first_line
)
INSERT INTO load_rejects (load_id, line, raw, errors)
SELECT %(load_id)s, line, coalesce(raw, ''),
       jsonb_build_array(jsonb_build_object('field', 'id', 'code', 'primary-key',
                                            'message', message))
FROM moved,
     LATERAL (SELECT id || ' already appears at ' || %(position)s || ' ' || first_line
                     || ' of this load' AS message) m

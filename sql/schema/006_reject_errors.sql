-- 006: every problem of a rejected row as {field, code, message}, with the codes of the
-- Frictionless standard (missing-cell, type-error, foreign-key, ...), beside the sentences.
ALTER TABLE load_rejects ADD COLUMN errors jsonb NOT NULL DEFAULT '[]';
UPDATE load_rejects
SET errors = (SELECT coalesce(jsonb_agg(jsonb_build_object(
                  'field', nullif(split_part(r.reason, ': ', 1), r.reason),
                  'code', 'type-error', 'message', r.reason)), '[]')
              FROM jsonb_array_elements_text(reasons) AS r(reason));

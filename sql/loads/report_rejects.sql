-- Every reject of a load in input order, for its standard report (streamed: a load may have
-- a million).
SELECT line, raw, errors
FROM load_rejects
WHERE load_id = %(load_id)s
ORDER BY line

-- A page of a load's rejects in input order (keyset pagination on line).
SELECT line, raw, errors
FROM load_rejects
WHERE load_id = %(load_id)s AND line > %(after)s
ORDER BY line
LIMIT %(limit)s

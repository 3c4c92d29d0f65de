-- A page of a table in id order (keyset pagination: the rows after a given id).
SELECT {columns}
FROM {target}
WHERE id > %(after)s
ORDER BY id
LIMIT %(limit)s

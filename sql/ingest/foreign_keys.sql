-- The target's foreign keys as the catalog defines them (dropped and re-added by large loads).
SELECT conname, pg_get_constraintdef(oid)
FROM pg_constraint
WHERE conrelid = %(table)s::regclass AND contype = 'f'
ORDER BY conname

-- Rows the backup does not have. Done as a merge (delete, update, insert) rather than
-- delete-all-then-insert, so parents that hires reference are never deleted, even briefly.
DELETE FROM {target} t
WHERE NOT EXISTS (SELECT 1 FROM {stage} s WHERE s.id = t.id)

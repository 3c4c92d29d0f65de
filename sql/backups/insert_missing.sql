INSERT INTO {target} ({columns})
SELECT {columns} FROM {stage} s
WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE t.id = s.id)

-- Whether the table holds no row: a restore into an empty table copies the backup straight in
-- (nothing to merge), instead of staging it.
SELECT NOT EXISTS (SELECT 1 FROM {target})

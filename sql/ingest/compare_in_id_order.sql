-- Staged rows whose ids rose row after row (a file sorted by id, as exports are) are compared
-- with the stored ones by a merge join on id, for the rest of the load's transaction: the
-- stage sorts at once (it is in order already) and the table is read in its key's order,
-- where a hash join would hash every column of a million stored rows (about 0.5 s more a
-- million rows here: docs/performance.md).
SET LOCAL enable_hashjoin = off

-- Whether a stored id lies within the range of the staged ids. When none does, no staged row
-- can be unchanged or in conflict (new ids beyond the stored ones, as a migration's later
-- files have), and the load inserts without comparing its rows with the table's. Staged ids
-- that rose row after row come with their first and last (no scan of the stage for them).
SELECT EXISTS (
    SELECT 1 FROM {target}
    WHERE id BETWEEN coalesce(%(first_id)s, (SELECT min(id) FROM {stage}))
                 AND coalesce(%(last_id)s, (SELECT max(id) FROM {stage}))
)

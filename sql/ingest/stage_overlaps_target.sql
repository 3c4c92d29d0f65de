-- Whether a stored id lies within the range of the staged ids. When none does, no staged row
-- can be unchanged or in conflict (new ids beyond the stored ones, as a migration's later
-- files have), and the load inserts without comparing its rows with the table's.
SELECT EXISTS (
    SELECT 1 FROM {target}
    WHERE id BETWEEN (SELECT min(id) FROM {stage}) AND (SELECT max(id) FROM {stage})
)

-- The load's own record cannot be deleted until the load commits: what the per-row key checks
-- of load_rejects (a foreign key to loads) would make sure of, taken once (see copy_rejects).
SELECT 1 FROM loads WHERE id = %(load_id)s FOR KEY SHARE

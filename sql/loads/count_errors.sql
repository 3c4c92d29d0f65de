-- How many problems a load's rejects have in all (a reject lists every problem of its row).
SELECT coalesce(sum(jsonb_array_length(errors)), 0)::bigint
FROM load_rejects
WHERE load_id = %(load_id)s

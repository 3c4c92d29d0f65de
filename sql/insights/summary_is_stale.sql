-- Whether a first load left the hire counts summary to be rebuilt (sql/schema/014): then the
-- insights answer with sql/insights_reference's plain queries over hired_employees instead.
SELECT EXISTS (SELECT FROM hire_counts_stale)

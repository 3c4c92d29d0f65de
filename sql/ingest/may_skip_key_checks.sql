-- Whether this role may skip the per-row foreign-key triggers in its own transactions:
-- superusers may,
-- and (PostgreSQL 15+) the tables' owner granted it with
--   GRANT SET ON PARAMETER session_replication_role TO <role>
-- Without it, hires are loaded with a key probe per row: the same result, several times slower.
SELECT has_parameter_privilege('session_replication_role', 'SET')
       AND pg_has_role((SELECT relowner FROM pg_class WHERE oid = 'hired_employees'::regclass),
                       'USAGE')

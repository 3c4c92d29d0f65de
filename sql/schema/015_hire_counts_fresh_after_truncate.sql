-- 015: emptying hired_employees (TRUNCATE) empties the hire counts summary (004), which is then
-- exact: the marks of first loads whose hires were not counted yet (014) go with it, and the
-- insights read the summary again. The log first, as 004 says; the marks last.
CREATE OR REPLACE FUNCTION hire_counts_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM hire_count_changes;
    DELETE FROM hire_counts_folded;
    DELETE FROM hire_counts_stale;
    RETURN NULL;
END $$;

-- 002: hires counted per year, quarter (UTC), department and job, kept by the database itself.
-- The insights read this instead of scanning hired_employees. Statement-level triggers with
-- transition tables keep it exact for every writer (uploads, batches, updates, restores, and
-- plain SQL), at the cost of one aggregate over the rows each statement changed.

CREATE TABLE hire_counts (
    year           integer NOT NULL,
    department_id  integer NOT NULL,
    job_id         integer NOT NULL,
    quarter        integer NOT NULL CHECK (quarter BETWEEN 1 AND 4),
    hires          bigint  NOT NULL,  -- 0 once all of a key's hires are gone
    PRIMARY KEY (year, department_id, job_id, quarter)
);

-- Removes the counts of the rows a statement deleted or replaced, and adds those of the rows
-- it inserted or wrote. Keys are written in primary key order so that concurrent writers lock
-- summary rows in the same order.
CREATE FUNCTION hire_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO hire_counts AS c (year, department_id, job_id, quarter, hires)
        SELECT extract(year FROM datetime AT TIME ZONE 'UTC')::integer, department_id, job_id,
               extract(quarter FROM datetime AT TIME ZONE 'UTC')::integer, -count(*)
        FROM old_rows
        GROUP BY 1, 2, 3, 4
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (year, department_id, job_id, quarter)
        DO UPDATE SET hires = c.hires + excluded.hires;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO hire_counts AS c (year, department_id, job_id, quarter, hires)
        SELECT extract(year FROM datetime AT TIME ZONE 'UTC')::integer, department_id, job_id,
               extract(quarter FROM datetime AT TIME ZONE 'UTC')::integer, count(*)
        FROM new_rows
        GROUP BY 1, 2, 3, 4
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (year, department_id, job_id, quarter)
        DO UPDATE SET hires = c.hires + excluded.hires;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION hire_counts_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM hire_counts;
    RETURN NULL;
END $$;

CREATE TRIGGER hire_counts_insert AFTER INSERT ON hired_employees
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hire_counts_track();
CREATE TRIGGER hire_counts_delete AFTER DELETE ON hired_employees
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hire_counts_track();
CREATE TRIGGER hire_counts_update AFTER UPDATE ON hired_employees
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hire_counts_track();
CREATE TRIGGER hire_counts_truncate AFTER TRUNCATE ON hired_employees
    FOR EACH STATEMENT EXECUTE FUNCTION hire_counts_after_truncate();

-- Hires already there when this migration runs.
INSERT INTO hire_counts (year, department_id, job_id, quarter, hires)
SELECT extract(year FROM datetime AT TIME ZONE 'UTC')::integer, department_id, job_id,
       extract(quarter FROM datetime AT TIME ZONE 'UTC')::integer, count(*)
FROM hired_employees
GROUP BY 1, 2, 3, 4;

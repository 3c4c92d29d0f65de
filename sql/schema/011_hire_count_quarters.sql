-- 011: the hire_counts triggers find each hire's UTC quarter by a binary search among the
-- quarters' first instants, instead of converting every timestamp to a UTC calendar date twice
-- (year, then quarter). The trigger runs over every row each statement writes; measured over
-- a million hires, the search and grouping took 0.22 s against 0.47 s.

-- The first instant (UTC) of every quarter from 1900 to 2099, and of 2100: a constant the
-- planner folds into each query that uses it (computed from timestamps without a time zone,
-- so that the session's time zone cannot move a boundary).
CREATE FUNCTION hrapi_quarter_starts() RETURNS timestamptz[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT array_agg(start AT TIME ZONE 'UTC' ORDER BY start)
    FROM generate_series(timestamp '1900-01-01', timestamp '2100-01-01', interval '3 months') start;
END;

-- A hire's UTC year and quarter as one integer, (year + 5000) * 4 + quarter - 1 (positive for
-- every year PostgreSQL stores): the search for 1900 to 2099, the calendar outside them.
CREATE FUNCTION hrapi_utc_quarter(instant timestamptz) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN instant >= timestamptz '1900-01-01 00:00:00+00'
     AND instant < timestamptz '2100-01-01 00:00:00+00'
    THEN (1900 + 5000) * 4 - 1 + width_bucket(instant, hrapi_quarter_starts())
    ELSE ((date_part('year', instant AT TIME ZONE 'UTC') + 5000) * 4
          + date_part('quarter', instant AT TIME ZONE 'UTC') - 1)::integer
END;

CREATE OR REPLACE FUNCTION hire_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO hire_count_changes (year, department_id, job_id, quarter, hires)
        SELECT quarter_key / 4 - 5000, department_id, job_id, quarter_key % 4 + 1, -hires
        FROM (SELECT hrapi_utc_quarter(datetime) AS quarter_key, department_id, job_id,
                     count(*) AS hires
              FROM old_rows
              GROUP BY 1, 2, 3) counted;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO hire_count_changes (year, department_id, job_id, quarter, hires)
        SELECT quarter_key / 4 - 5000, department_id, job_id, quarter_key % 4 + 1, hires
        FROM (SELECT hrapi_utc_quarter(datetime) AS quarter_key, department_id, job_id,
                     count(*) AS hires
              FROM new_rows
              GROUP BY 1, 2, 3) counted;
    END IF;
    RETURN NULL;
END $$;

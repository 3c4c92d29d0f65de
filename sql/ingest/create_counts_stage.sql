-- The counts a direct load computed while streaming (see ingest._direct).
CREATE TEMP TABLE hrapi_counts_stage (
    year integer, department_id integer, job_id integer, quarter integer, hires bigint
) ON COMMIT DROP

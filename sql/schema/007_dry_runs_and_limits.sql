-- 007: dry runs (everything checked, nothing kept but the report) and loads aborted at their
-- reject limits; each load keeps the options it ran with (CSV dialect, dry_run, limits).
ALTER TABLE loads DROP CONSTRAINT loads_status_check;
ALTER TABLE loads ADD CONSTRAINT loads_status_check
    CHECK (status IN ('running', 'completed', 'failed', 'dry_run', 'aborted'));
ALTER TABLE loads ADD COLUMN options jsonb NOT NULL DEFAULT '{}';

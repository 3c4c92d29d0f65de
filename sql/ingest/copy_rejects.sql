-- Rows that failed the row check (the data dictionary), with every problem coded. Where the
-- role may, without a key check per row (skip_key_checks.sql): the load's record is locked
-- instead (lock_load.sql).
COPY load_rejects (load_id, line, raw, errors) FROM STDIN

-- Rows that failed the row check (the data dictionary), with their reasons and coded errors.
-- Where the role may, without a key check per row (skip_key_checks.sql): the load's record is
-- locked instead (lock_load.sql).
COPY load_rejects (load_id, line, raw, reasons, errors) FROM STDIN

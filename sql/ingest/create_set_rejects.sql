-- Where the set-based steps put the rows they reject (line and coded errors; reject_*.sql),
-- and the raw text the load then reads again from its input for them (staged rows carry none,
-- see create_stage.sql), until store_set_rejects.sql joins the two into load_rejects: the
-- database session's own tables, emptied whenever a transaction ends.
CREATE TEMP TABLE IF NOT EXISTS hrapi_set_rejects (
    line   integer NOT NULL,
    errors jsonb   NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS hrapi_reject_raws (
    line integer NOT NULL,
    raw  text    NOT NULL
) ON COMMIT DELETE ROWS

-- The raw text of the rows the set-based steps rejected, read again from the input, streams
-- in (see create_set_rejects.sql).
COPY hrapi_reject_raws (line, raw) FROM STDIN

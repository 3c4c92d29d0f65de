-- The lines (CSV) or indices (JSON) of the rows the set-based steps rejected, in order: the
-- load reads their raw text again from its input (see create_set_rejects.sql).
COPY (SELECT line FROM hrapi_set_rejects ORDER BY line) TO STDOUT

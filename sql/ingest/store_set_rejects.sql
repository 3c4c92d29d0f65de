-- The set-based steps' rejects, each with its raw text, into load_rejects in one statement
-- (filling in the raw text of stored rejects instead cost 15 s a million). A row whose raw
-- text the load could not read again keeps ''.
INSERT INTO load_rejects (load_id, line, raw, errors)
SELECT %(load_id)s, r.line, coalesce(f.raw, ''), r.errors
FROM hrapi_set_rejects r
LEFT JOIN hrapi_reject_raws f ON f.line = r.line

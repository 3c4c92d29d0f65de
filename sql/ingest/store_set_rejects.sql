-- The set-based steps' rejects, each with its raw text, into load_rejects in one statement
-- (an UPDATE of stored rejects took several times longer, see docs/performance.md). A row
-- whose raw text the load did not find again keeps ''.
INSERT INTO load_rejects (load_id, line, raw, errors)
SELECT %(load_id)s, r.line, coalesce(f.raw, ''), r.errors
FROM hrapi_set_rejects r
LEFT JOIN hrapi_reject_raws f ON f.line = r.line

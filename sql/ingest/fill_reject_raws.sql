-- The raw text of JSON rows that set-based steps rejected, made from the request's rows.
UPDATE load_rejects r
SET raw = v.raw
FROM unnest(%(lines)s::integer[], %(raws)s::text[]) AS v(line, raw)
WHERE r.load_id = %(load_id)s AND r.line = v.line

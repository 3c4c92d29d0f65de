-- Whether the table holds the id of a CSV's first row (a file loaded again, say): the load then
-- goes through staging at once, instead of trying the table and giving way at its first COPY.
SELECT EXISTS (SELECT 1 FROM {target} WHERE id = %(id)s)

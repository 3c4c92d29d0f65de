-- Rows that failed the row check (the data dictionary) go to load_rejects.
WITH moved AS (
    DELETE FROM {stage} WHERE reasons IS NOT NULL
    RETURNING line, raw, reasons
)
INSERT INTO load_rejects (load_id, line, raw, reasons)
SELECT %(load_id)s, line, raw, reasons FROM moved

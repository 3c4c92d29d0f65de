-- Rows that failed the row check (the data dictionary), with their reasons.
COPY load_rejects (load_id, line, raw, reasons) FROM STDIN

-- Rows stream in through COPY: checked rows with their values, rejected ones with reasons.
COPY {stage} (line, raw, reasons, {columns}) FROM STDIN

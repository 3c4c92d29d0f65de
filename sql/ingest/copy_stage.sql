-- Rows that passed the row check stream in through COPY.
COPY {stage} (line, {columns}) FROM STDIN

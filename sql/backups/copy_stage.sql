-- A backup's rows, checked against the data dictionary as they were read, stream in here
-- (binary: no text to parse on either side).
COPY {stage} ({columns}) FROM STDIN (FORMAT BINARY)

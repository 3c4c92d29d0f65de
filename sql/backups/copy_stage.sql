-- A backup's rows, checked against the data dictionary as they were read, stream in here.
COPY {stage} ({columns}) FROM STDIN (FORMAT BINARY)

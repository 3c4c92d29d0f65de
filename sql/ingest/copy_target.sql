-- Loading an empty table: rows that passed every check stream straight into it.
COPY {target} ({columns}) FROM STDIN

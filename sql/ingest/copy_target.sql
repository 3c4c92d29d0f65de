-- A direct load of hires (strategies.into_table): rows that passed every check stream straight
-- into the table, in statements of a bounded number of rows (see copy_writer.py).
COPY {target} ({columns}) FROM STDIN

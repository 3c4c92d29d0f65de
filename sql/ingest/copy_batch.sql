-- A JSON batch's checked rows (at most 1000), straight into the table.
--
-- WHERE random() >= 0 is always true; it is there because it is volatile, which makes COPY
-- insert the rows one at a time instead of buffering them for multi-row inserts. For a few
-- hundred rows that is faster: PostgreSQL 15 makes one tuple slot per buffered row, and each
-- slot pins the table's row descriptor in the transaction's resource owner, a hash table with
-- linear probing where the same descriptor a thousand times costs time quadratic in the rows
-- (a tenth of all CPU under 1000-row batches: see docs/performance.md).
-- A large COPY (copy_target.sql) reuses its slots, and keeps the multi-row inserts.
COPY {target} ({columns}) FROM STDIN WHERE random() >= 0

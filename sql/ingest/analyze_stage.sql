-- Fresh statistics for the staged rows, so that the steps that join them with the table look
-- a thousand staged rows up by primary key instead of scanning a table of millions (and hash
-- a million staged rows).
ANALYZE {stage}

-- A backup set reads its three tables in one snapshot: the set is one consistent picture, in
-- which every hire's department and job are there.
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY

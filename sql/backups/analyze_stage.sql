-- The planner learns the staged rows' size and values before the merge joins them.
ANALYZE {stage}

-- Hire loads that check references set-based: departments and jobs cannot change until the
-- load commits, so the references checked now stay valid (the guarantee the per-row key-share
-- locks of the foreign-key triggers give, taken once for the load).
LOCK TABLE departments, jobs IN SHARE MODE

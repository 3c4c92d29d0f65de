-- Back to the usual: every trigger fires again (see skip_key_checks.sql).
SET LOCAL session_replication_role = origin

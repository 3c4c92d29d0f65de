-- 008: a reject's sentences ("field: message") are made from its coded errors (006) when it
-- is read, so they are no longer stored.
ALTER TABLE load_rejects DROP COLUMN reasons;
ALTER TABLE load_rejects ALTER COLUMN errors DROP DEFAULT;

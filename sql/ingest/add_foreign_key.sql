-- Re-adding the key validates every row of the table in one anti-join; a row without its
-- parent would fail the whole load here (it cannot happen: missing references were rejected
-- and the parents are locked).
ALTER TABLE {target} ADD CONSTRAINT {constraint} {definition}

-- Rejects of this load whose raw text is still to be filled in (see create_stage.sql).
SELECT line FROM load_rejects WHERE load_id = %(load_id)s AND raw = ''

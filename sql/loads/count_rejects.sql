SELECT count(*) FROM load_rejects WHERE load_id = %(load_id)s

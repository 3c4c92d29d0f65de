"""HTTP: one blueprint per resource (tables, loads, insights, backups, the docs page and health,
the dashboard) and their helpers (API schemas, errors, auth, request log, formats, JSON bodies).
Nothing here loads or queries by itself: it parses, calls ingest, insights and backups, answers.
"""

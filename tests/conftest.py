"""Test fixtures: a real PostgreSQL for the whole run, and per test an app, a client, a CLI
runner and a clean database.

The database is DATABASE_URL when set (e.g. the machine's server), else an embedded
PostgreSQL started in a temporary folder for this run and stopped at its end.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from flask.testing import FlaskClient
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from hrapi import create_app, embedded_db
from hrapi.config import Settings

DATA_TABLES = "hired_employees, departments, jobs, load_rejects, loads"


@pytest.fixture(scope="session")
def database_url():
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    # Not under pytest's own temporary folders: a run started meanwhile (another checkout's
    # `make test`) deletes all but the newest three, and this run's database with them.
    with tempfile.TemporaryDirectory(prefix="hrapi-tests-") as folder:
        url = embedded_db.start(Path(folder))
        yield url
        embedded_db.stop()


@pytest.fixture
def settings(database_url, tmp_path):
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        api_key=None,
        backup_dir=tmp_path / "backups",
        max_upload_mb=512,
        pool_size=4,
    )


@pytest.fixture(autouse=True)
def clean_database(database_url):
    """Every test starts with the schema applied and no rows."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('loads') IS NOT NULL").fetchone()[0]
        if exists:
            conn.execute(f"TRUNCATE {DATA_TABLES} RESTART IDENTITY CASCADE")


class ClosingClient(FlaskClient):
    """Reads each response whole and closes it, as a WSGI server does once it has sent it: the
    work a request hands to run after its response (a load's fold of the hire counts) is done
    before the test goes on."""

    def open(self, *args, buffered: bool = True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


@pytest.fixture
def app(settings):
    app = create_app(settings)
    app.config["TESTING"] = True
    app.test_client_class = ClosingClient
    yield app
    app.extensions["hrapi.db"].close()


@pytest.fixture
def plain_role_app(database_url, settings, sql):
    """The app connected as a role that may write the tables but is no superuser (so it may
    not skip per-row key checks), dropped afterwards."""
    role = f"hrapi_plain_{os.getpid()}"
    sql(f"DROP ROLE IF EXISTS {role}")
    sql(f"CREATE ROLE {role} LOGIN PASSWORD 'plain' NOSUPERUSER")
    sql(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}")
    sql(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO {role}")
    sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    url = make_conninfo(**{**conninfo_to_dict(database_url), "user": role, "password": "plain"})
    app = create_app(replace(settings, database_url=url))
    try:
        yield app
    finally:
        app.extensions["hrapi.db"].close()
        sql(f"DROP OWNED BY {role}")
        sql(f"DROP ROLE {role}")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def sql(database_url):
    """Run SQL straight against the test database (for checks independent of the app)."""
    with psycopg.connect(database_url, autocommit=True) as conn:

        def run(query, params=None):
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else cur.rowcount

        yield run

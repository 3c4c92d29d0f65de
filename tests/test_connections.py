"""The pool's connections: lent without a round trip to check them unless the server has ended
them, and with the per-row key checks on for every caller but a direct batch of hires."""

from __future__ import annotations

from dataclasses import replace

import psycopg
import pytest

from hrapi import create_app, db
from tests.helpers import batch, load_parents

HIRE = "2021-03-04T05:06:07Z"


@pytest.fixture
def one_connection_app(settings):
    """The app with a pool of one connection: every request gets the same one."""
    app = create_app(replace(settings, pool_size=1))
    yield app
    app.extensions["hrapi.db"].close()


def _hires(first: int, count: int, department: int = 1) -> list[dict]:
    return [{"id": i, "name": f"Person {i}", "datetime": HIRE, "department_id": department,
             "job_id": 1} for i in range(first, first + count)]  # fmt: skip


def _role_of(conn) -> str:
    return conn.execute("SHOW session_replication_role").fetchone()[0]


def test_connections_ended_by_the_server_are_replaced_before_use(one_connection_app, sql):
    client = one_connection_app.test_client()
    load_parents(client)
    assert batch(client, "hired_employees", _hires(1, 2)).status_code == 201
    # Waits (up to 5 s) for each backend to be gone: until then its session has not ended,
    # and its last words may not have reached the socket the check looks at.
    ended = sql("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE application_name = 'hrapi' AND datname = current_database()")  # fmt: skip
    assert ended and all(done for (done,) in ended)
    for first in (3, 5, 7):  # each would be a 503 if a dead connection were lent
        response = batch(client, "hired_employees", _hires(first, 2))
        assert response.status_code == 201, response.get_json()
    assert client.get("/api/v1/tables/hired_employees/rows").status_code == 200
    assert sql("SELECT count(*) FROM hired_employees") == [(8,)]


def test_a_connection_left_by_a_batch_checks_keys_for_everyone_else(one_connection_app, sql):
    client = one_connection_app.test_client()
    database = one_connection_app.extensions["hrapi.db"]
    load_parents(client)
    assert batch(client, "hired_employees", _hires(1, 5)).status_code == 201
    with database.connection(skipping_key_checks=True) as conn:
        assert _role_of(conn) == "replica"  # kept from the batch: no setting changed
        assert database.skips_key_checks(conn)
    with database.connection() as conn:  # the same connection, lent to another caller
        assert _role_of(conn) == "origin"
        assert not database.skips_key_checks(conn)
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("INSERT INTO hired_employees VALUES (99, 'X', now(), 999, 1)")
    assert batch(client, "hired_employees", _hires(6, 5)).status_code == 201
    upload = client.post("/api/v1/tables/hired_employees/upload?on_conflict=update",
                         data="1,Renamed,2021-03-04T05:06:07Z,2,1\n",
                         content_type="text/csv")  # fmt: skip
    assert upload.status_code == 201, upload.get_json()
    assert upload.get_json()["updated"] == 1
    assert sql("SELECT count(*) FROM hired_employees") == [(10,)]


def test_a_rejected_reference_in_a_batch_on_a_skipping_connection(one_connection_app, sql):
    client = one_connection_app.test_client()
    load_parents(client)
    assert batch(client, "hired_employees", _hires(1, 3)).status_code == 201
    response = batch(client, "hired_employees", _hires(4, 2) + _hires(6, 1, department=999))
    assert response.status_code == 201
    report = response.get_json()
    assert (report["inserted"], report["rejected"]) == (2, 1)
    assert report["rejects"][0]["index"] == 2
    assert sql("SELECT count(*) FROM hired_employees WHERE department_id = 999") == [(0,)]


def test_behind_pgbouncer_no_session_is_left_skipping_key_checks(settings, sql):
    """Transaction pooling would hand a session's settings to other clients: a batch sets
    them for its own transaction only."""
    app = create_app(replace(settings, pool_size=1, pgbouncer=True))
    try:
        client = app.test_client()
        database = app.extensions["hrapi.db"]
        load_parents(client)
        response = batch(client, "hired_employees", _hires(1, 3) + _hires(4, 1, department=999))
        assert response.status_code == 201
        assert (response.get_json()["inserted"], response.get_json()["rejected"]) == (3, 1)
        with database.connection(skipping_key_checks=True) as conn:
            assert _role_of(conn) == "origin"
            assert not database.skips_key_checks(conn)
    finally:
        app.extensions["hrapi.db"].close()
    assert sql("SELECT count(*) FROM hired_employees") == [(3,)]


def test_a_session_whose_setting_cannot_be_put_back_is_dropped(one_connection_app, monkeypatch):
    """Should the setting fail to go back (a privilege revoked meanwhile, say), that session is
    closed, never lent skipping the probes: its request answers 503, the next one gets a new
    connection."""
    client = one_connection_app.test_client()
    database = one_connection_app.extensions["hrapi.db"]
    load_parents(client)
    assert batch(client, "hired_employees", _hires(1, 2)).status_code == 201
    monkeypatch.setattr(db, "CHECK_KEYS", "RESET hrapi_no_such_setting")
    failed = client.get("/api/v1/tables/hired_employees/rows")
    assert failed.status_code == 503, failed.get_json()
    assert "key checks" in failed.get_json()["message"]
    monkeypatch.undo()
    again = client.get("/api/v1/tables/hired_employees/rows")
    assert again.status_code == 200
    assert [row["id"] for row in again.get_json()["rows"]] == [1, 2]
    with database.connection() as conn:
        assert _role_of(conn) == "origin"

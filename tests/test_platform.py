"""The platform: app factory, health, docs, schema, CLI, request log."""

from __future__ import annotations

import logging
import time

from hrapi import create_app
from hrapi.config import Settings
from hrapi.db import Database, apply_schema
from tests.helpers import ListHandler


def test_health_reports_database_up(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "up"
    assert body["database"]["server_version"]


def test_health_is_503_quickly_when_database_unreachable(settings, tmp_path):
    # Port 1 on localhost: nothing listens there, so every connection is refused.
    unreachable = Settings(
        database_url="postgresql://postgres@127.0.0.1:1/nowhere",
        data_dir=tmp_path,
        backup_dir=tmp_path,
        sql_dir=settings.sql_dir,
    )
    app = create_app(unreachable)
    try:
        started = time.monotonic()
        response = app.test_client().get("/health")
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert response.get_json()["database"]["status"] == "down"
        assert elapsed < 2.0
    finally:
        app.extensions["hrapi.db"].close()


def test_root_redirects_to_docs_and_docs_are_served_locally(client):
    assert client.get("/").headers["Location"].endswith("/docs")
    page = client.get("/docs")
    assert page.status_code == 200
    assert b"/docs/assets/swagger-ui-bundle.js" in page.data
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_openapi_document_lists_health(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/health" in spec["paths"]


def test_schema_has_keys_and_foreign_keys(sql):
    constraints = sql(
        "SELECT conrelid::regclass::text, contype, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid::regclass::text IN ('departments', 'jobs', 'hired_employees')"
    )
    kinds = {(table, kind) for table, kind, _ in constraints}
    assert {("departments", "p"), ("jobs", "p"), ("hired_employees", "p")} <= kinds
    foreign = sorted(d for t, k, d in constraints if k == "f")
    assert foreign == [
        "FOREIGN KEY (department_id) REFERENCES departments(id)",
        "FOREIGN KEY (job_id) REFERENCES jobs(id)",
    ]
    nullable = sql(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_name IN"
        " ('departments', 'jobs', 'hired_employees') AND is_nullable = 'YES'"
    )
    assert nullable == []


def test_schema_apply_is_idempotent(app, database_url):
    database: Database = app.extensions["hrapi.db"]
    with database.pool.connection() as conn:
        assert apply_schema(conn, database.schema_dir) == []


def test_cli_db_url_and_init_db(runner, database_url):
    assert runner.invoke(args=["db-url"]).output.strip() == database_url
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0
    assert "up to date" in result.output


def test_one_log_line_per_request(client):
    logger = logging.getLogger("hrapi.request")
    handler = ListHandler()
    logger.addHandler(handler)
    try:
        client.get("/health")
    finally:
        logger.removeHandler(handler)
    lines = handler.lines
    assert len(lines) == 1
    assert lines[0].startswith("request method=GET path=/health status=200 ms=")

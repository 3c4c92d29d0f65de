"""Hardening: the API key, database faults, client disconnects, and concurrent writers."""

from __future__ import annotations

import io
import logging
import resource
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from hrapi import create_app
from hrapi.ingest import pipeline
from tests.db_proxy import DbProxy
from tests.helpers import (
    ListHandler,
    assert_counts_add_up,
    assert_hire_counts_exact,
    batch,
    load_parents,
    upload_csv,
)

HIRE = "2021-03-04T05:06:07Z"


@pytest.fixture
def keyed_client(settings):
    app = create_app(replace(settings, api_key="s3cret-key"))
    yield app.test_client()
    app.extensions["hrapi.db"].close()


def test_api_key_is_required_on_the_api_only(keyed_client):
    assert keyed_client.get("/api/v1/loads").status_code == 401
    wrong = keyed_client.get("/api/v1/loads", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert wrong.get_json()["code"] == 401
    basic = keyed_client.get("/api/v1/loads", headers={"Authorization": "Basic s3cret-key"})
    assert basic.status_code == 401
    good = keyed_client.get("/api/v1/loads", headers={"Authorization": "Bearer s3cret-key"})
    assert good.status_code == 200
    for open_path in ("/health", "/docs", "/openapi.json"):
        assert keyed_client.get(open_path).status_code == 200
    spec = keyed_client.get("/openapi.json").get_json()
    assert spec["security"] == [{"bearerAuth": []}]


def test_no_api_key_logs_a_warning_where_the_api_is_served_only(settings):
    from hrapi.api import auth

    logger = logging.getLogger("hrapi.api.auth")
    handler = ListHandler()
    logger.addHandler(handler)
    try:
        app = create_app(settings)  # as every CLI command builds it: no warning
        app.extensions["hrapi.db"].close()
        assert handler.lines == []
        auth.warn_if_open(None)  # gunicorn's start-up
        auth.warn_if_open("a key")
    finally:
        logger.removeHandler(handler)
    assert handler.lines == ["HRAPI_API_KEY is not set: the API is open to anyone who can reach it"]


@pytest.fixture
def proxy(database_url):
    proxy = DbProxy(database_url)
    yield proxy
    proxy.close()


@pytest.fixture
def proxied_app(settings, proxy):
    app = create_app(replace(settings, database_url=proxy.url))
    yield app
    app.extensions["hrapi.db"].close()


def test_database_down_at_start_up_then_back(settings, proxy, sql):
    proxy.cut()
    started = time.monotonic()
    app = create_app(replace(settings, database_url=proxy.url))
    try:
        assert time.monotonic() - started < 30
        client = app.test_client()
        health = client.get("/health")
        assert health.status_code == 503
        down = upload_csv(client, "departments", "1,Sales\n")
        assert down.status_code == 503
        assert "database is unavailable" in down.get_json()["message"]
        assert client.get("/api/v1/insights/hires-by-quarter").status_code == 503
        proxy.mend()
        deadline = time.monotonic() + 20
        while client.get("/health").status_code != 200:
            assert time.monotonic() < deadline, "the app did not reconnect"
            time.sleep(0.3)
        assert upload_csv(client, "departments", "1,Sales\n").status_code == 201
        assert sql("SELECT count(*) FROM departments") == [(1,)]
    finally:
        app.extensions["hrapi.db"].close()


class CutAfter(io.BytesIO):
    """A request body that cuts the database connection once `after` bytes were read."""

    def __init__(self, data: bytes, after: int, action):
        super().__init__(data)
        self._after = after
        self._action = action
        self._done = False

    def read(self, size=-1):
        if not self._done and self.tell() >= self._after:
            self._done = True
            self._action()
        return super().read(size if 0 <= size <= 4096 else 4096)

    def readinto(self, buffer):
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_database_lost_mid_load_commits_nothing_and_marks_it_failed(proxied_app, proxy, sql):
    client = proxied_app.test_client()
    load_parents(client)
    body = "".join(f"{i},Person {i},{HIRE},1,1\n" for i in range(1, 50_001)).encode()
    stream = CutAfter(body, len(body) // 2, proxy.cut)
    response = client.post(
        "/api/v1/tables/hired_employees/upload",
        input_stream=stream,
        content_type="text/csv",
        content_length=len(body),
    )
    assert response.status_code == 503
    assert sql("SELECT count(*) FROM hired_employees") == [(0,)]
    proxy.mend()
    deadline = time.monotonic() + 20
    while True:
        response = client.get("/api/v1/loads")
        if response.status_code == 200:
            statuses = [load["status"] for load in response.get_json()["loads"]]
            if statuses[0] == "failed":
                break
        assert time.monotonic() < deadline, "the failed load was not marked failed"
        time.sleep(0.3)
    assert sql("SELECT count(*) FROM load_rejects WHERE load_id = 3") == [(0,)]
    again = upload_csv(client, "hired_employees", body.decode()[:2000].rsplit("\n", 1)[0] + "\n")
    assert again.status_code == 201


@pytest.mark.parametrize("server_terminates_input", [False, True])
def test_client_disconnect_mid_upload_rolls_back(client, sql, server_terminates_input):
    load_parents(client)
    body = "".join(f"{i},Person {i},{HIRE},1,1\n" for i in range(1, 5001)).encode()
    environ = {"CONTENT_LENGTH": str(len(body))}  # promises more than it sends
    if server_terminates_input:
        environ["wsgi.input_terminated"] = True  # as gunicorn does
    response = client.post(
        "/api/v1/tables/hired_employees/upload",
        input_stream=io.BytesIO(body[: len(body) // 2]),
        content_type="text/csv",
        environ_overrides=environ,
    )
    assert 400 <= response.status_code < 500
    assert sql("SELECT count(*) FROM hired_employees") == [(0,)]
    assert sql("SELECT status FROM loads WHERE table_name = 'hired_employees'") == [("failed",)]


@pytest.mark.parametrize("room", [20_000, 2_000_000])  # before the load starts, and during it
def test_no_room_for_a_body_copy_is_507_and_nothing_loaded(client, sql, room):
    """The raw body's temporary copy refused part-way (here by the process's file size limit,
    as a full disk refuses it): a short write left a gap that ended a later reading early,
    and the load completed with a few hundred of 100,000 rows, as if that were all."""
    load_parents(client)
    body = "".join(f"{i},Person {i},{HIRE},1,1\n" for i in range(1, 100_001)).encode()
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (room, limit[1]))
    try:
        response = client.post("/api/v1/tables/hired_employees/upload", data=io.BytesIO(body),
                               content_type="text/csv",
                               headers={"Content-Length": str(len(body))})  # fmt: skip
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
    assert response.status_code == 507, response.get_json()
    assert "no room left" in response.get_json()["message"]
    assert response.headers["Retry-After"]
    assert sql("SELECT count(*) FROM hired_employees") == [(0,)]
    assert sql("SELECT status FROM loads WHERE table_name = 'hired_employees'") in (
        [],
        [("failed",)],
    )
    headers = {"Content-Length": str(len(body))}
    again = client.post("/api/v1/tables/hired_employees/upload", data=io.BytesIO(body),
                        content_type="text/csv", headers=headers)  # fmt: skip
    assert again.status_code == 201 and again.get_json()["inserted"] == 100_000


def test_truncated_multipart_is_a_4xx(client, sql):
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="d.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n1,Sales\n2,Legal\n"
    )
    response = client.post(
        "/api/v1/tables/departments/upload",
        data=body,
        content_type="multipart/form-data; boundary=XyZ",
    )
    assert 400 <= response.status_code < 500
    assert sql("SELECT count(*) FROM departments") == [(0,)]


def test_odd_paths_and_methods_are_clean_4xx(client):
    for path in ("/api/v1/tables/../../etc/passwd/upload", "/api/v1/nothing", "/api/v1/tables/"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()["code"] == 404
    assert client.delete("/api/v1/tables/jobs/rows").status_code == 405


def test_concurrent_overlapping_uploads_and_batches(settings, sql, monkeypatch):
    monkeypatch.setattr(pipeline, "FOLD_AFTER_ROWS", 1)  # hire counts folded amid the writes
    app = create_app(replace(settings, pool_size=24))
    try:
        client = app.test_client()
        load_parents(client)
        first = "".join(f"{i},A{i},{HIRE},1,1\n" for i in range(1, 3001))
        second = "".join(f"{i},B{i},{HIRE},2,2\n" for i in range(2001, 5001))
        barrier = threading.Barrier(22)

        def upload(text):
            barrier.wait()
            return upload_csv(app.test_client(), "hired_employees", text)

        def send_batch(n):
            rows = [{"id": 10_000 + n * 100 + k, "name": f"C{n}", "datetime": HIRE,
                     "department_id": 3, "job_id": 3} for k in range(100)]  # fmt: skip
            rows.append({"id": 1 + n, "name": f"Clash{n}", "datetime": HIRE,
                         "department_id": 3, "job_id": 3})  # fmt: skip
            barrier.wait()
            return batch(app.test_client(), "hired_employees", rows)

        with ThreadPoolExecutor(max_workers=22) as pool:
            futures = [pool.submit(upload, first), pool.submit(upload, second)]
            futures += [pool.submit(send_batch, n) for n in range(20)]
            responses = [f.result() for f in futures]
        assert [r.status_code for r in responses] == [201] * 22
        reports = [r.get_json() for r in responses]
        for report in reports:
            assert_counts_add_up(report)
        inserted = sum(r["inserted"] for r in reports)
        assert sql("SELECT count(*) FROM hired_employees") == [(inserted,)]
        # ids 1..5000 from the two files, 1000 of them in both: each id is stored once, and
        # the copy that came second was rejected as a conflict; likewise the 20 batch rows
        # whose ids the first file also has.
        assert sql("SELECT count(*) FROM hired_employees WHERE id <= 5000") == [(5000,)]
        assert sum(r["rejected"] for r in reports) == 1000 + 20
        assert_hire_counts_exact(sql)
    finally:
        app.extensions["hrapi.db"].close()

"""The server as deployed: gunicorn with hrapi's config (the container's command line).

Covers what only a real server shows: a request over a real socket, and a worker killed in
the middle of an upload (its transaction must roll back; the load is then marked failed).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

GUNICORN_COMMAND = [
    sys.executable, "-m", "gunicorn", "-c", "python:hrapi.gunicorn_conf", "hrapi:create_app()",
]  # fmt: skip
HIRE = "2021-03-04T05:06:07Z"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(base, method, path, body=None, content_type=None):
    request = urllib.request.Request(base + path, data=body, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def wait_until_healthy(base: str, process, log: Path, seconds: float = 30) -> None:
    """Wait for /health to answer 200; fail with the server's log if it dies or never does."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if call(base, "GET", "/health")[0] == 200:
                return
        except OSError:
            pass
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the server did not come up"
        time.sleep(0.2)


@pytest.fixture
def server(database_url, tmp_path, request):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "1",
        "HRAPI_DATA_DIR": str(tmp_path),
        "GUNICORN_TIMEOUT": str(getattr(request, "param", 600)),
    }
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        GUNICORN_COMMAND, env=env, stdout=log, stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_until_healthy(base, process, tmp_path / "gunicorn.log")
    yield base, process
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    log.close()


def test_uploads_and_insights_through_gunicorn(server):
    base, _ = server
    assert (
        call(base, "POST", "/api/v1/tables/departments/upload", b"1,Sales\n", "text/csv")[0] == 201
    )
    assert call(base, "POST", "/api/v1/tables/jobs/upload", b"1,Clerk\n", "text/csv")[0] == 201
    body = f"1,Ann,{HIRE},1,1\n2,Bob,{HIRE},1,\n".encode()
    status, report = call(base, "POST", "/api/v1/tables/hired_employees/upload", body, "text/csv")
    assert status == 201 and (report["inserted"], report["rejected"]) == (1, 1)
    status, answer = call(base, "GET", "/api/v1/insights/hires-by-quarter?year=2021")
    assert status == 200
    assert answer["rows"] == [{"department": "Sales", "job": "Clerk", "Q1": 1, "Q2": 0, "Q3": 0,
                               "Q4": 0}]  # fmt: skip


def test_a_worker_killed_mid_upload_commits_nothing(server, sql):
    base, master = server
    call(base, "POST", "/api/v1/tables/departments/upload", b"1,Sales\n", "text/csv")
    call(base, "POST", "/api/v1/tables/jobs/upload", b"1,Clerk\n", "text/csv")
    body = "".join(f"{i},P{i},{HIRE},1,1\n" for i in range(1, 200_001)).encode()
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            b"POST /api/v1/tables/hired_employees/upload HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: text/csv\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        sock.sendall(body[: len(body) // 2])
        deadline = time.monotonic() + 20
        while sql("SELECT count(*) FROM loads WHERE status = 'running'") != [(1,)]:
            assert time.monotonic() < deadline, "the upload did not start"
            time.sleep(0.1)
        time.sleep(0.5)  # rows are streaming into the load's transaction now
        workers = psutil.Process(master.pid).children()
        assert len(workers) == 1
        workers[0].kill()
    assert sql("SELECT count(*) FROM hired_employees") == [(0,)]
    deadline = time.monotonic() + 30
    while True:
        try:
            status, listing = call(base, "GET", "/api/v1/loads")
        except OSError:
            status = 0  # the new worker is still starting
        if status == 200 and listing["loads"][0]["status"] == "failed":
            break
        assert time.monotonic() < deadline, "the killed load was not marked failed"
        time.sleep(0.3)
    assert sql("SELECT count(*) FROM load_rejects") == [(0,)]


@pytest.mark.parametrize("server", [2], indirect=True)
def test_a_request_past_the_worker_timeout_answers_json_and_fails_its_load(server, sql):
    base, _ = server
    call(base, "POST", "/api/v1/tables/departments/upload", b"1,Sales\n", "text/csv")
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        lines = "".join(f"{i},Department {i}\n" for i in range(2, 80_000)).encode()  # 1.7 MB
        sock.sendall(
            b"POST /api/v1/tables/departments/upload HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: text/csv\r\nContent-Length: 9000000\r\n\r\n" + lines
        )  # the load is on record (running) now; the rest of the body never comes
        answer = b""
        while chunk := sock.recv(65536):  # the rest of the body never comes
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503"), answer[:300]
    assert b"application/json" in head
    assert "worker timeout after 2 s" in json.loads(body)["message"]
    deadline = time.monotonic() + 10
    while sql("SELECT status FROM loads ORDER BY id DESC LIMIT 1") != [("failed",)]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert sql("SELECT error FROM loads ORDER BY id DESC LIMIT 1") == [
        ("worker timeout after 2 s (GUNICORN_TIMEOUT)",)
    ]
    assert sql("SELECT id FROM departments") == [(1,)]

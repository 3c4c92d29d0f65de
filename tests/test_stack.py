"""`make stack` as deployed: nginx in front of three API instances, through PgBouncer in
transaction mode, all real processes. Skipped, saying why, where nginx or PgBouncer cannot be
had (.ci/run installs them)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from tests.helpers import assert_hire_counts_exact

ROOT = Path(__file__).resolve().parents[1]
SEARCHED = os.pathsep.join((os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"))
MISSING = [name for name in ("nginx", "pgbouncer") if not shutil.which(name, path=SEARCHED)]
pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"{' and '.join(MISSING)} not installed (Debian: apt-get install "
                          "nginx-light pgbouncer; .ci/run does)",
)  # fmt: skip
HIRE = "2021-03-04T05:06:07Z"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(base, method, path, body=None, content_type=None, *, timeout=60):
    request = urllib.request.Request(base + path, data=body, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def post_json(base, path, document):
    status, body = call(base, "POST", path, json.dumps(document).encode(), "application/json")
    try:
        return status, json.loads(body or b"null")
    except ValueError:  # nginx's own page (a 502 while an instance dies)
        return status, body


@pytest.fixture(scope="module")
def stack(database_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("stack")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "STACK_PORT": str(port),
           "STACK_INSTANCES": "3", "WEB_CONCURRENCY": "2",
           "HRAPI_DATA_DIR": str(folder)}  # fmt: skip
    log = (folder / "make-stack.log").open("w")
    process = subprocess.Popen(["make", "stack"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    state_file = folder / "stack" / "stack.json"
    deadline = time.monotonic() + 180
    while not state_file.exists():
        assert process.poll() is None, (folder / "make-stack.log").read_text()
        assert time.monotonic() < deadline, "make stack did not come up"
        time.sleep(0.3)
    state = json.loads(state_file.read_text())
    yield {**state, "folder": folder}
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C
    process.wait(timeout=90)
    log.close()
    alive = [pid for pid in state["pids"].values() if psutil.pid_exists(pid)
             and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]  # fmt: skip
    assert not alive, f"make stack left processes running: {alive}"
    assert "hrapi stack stopped" in (folder / "make-stack.log").read_text()


def hires(first: int, count: int) -> list[dict]:
    return [{"id": i, "name": f"Stack {i}", "datetime": HIRE, "department_id": 1 + i % 3,
             "job_id": 1 + i % 4} for i in range(first, first + count)]  # fmt: skip


def load_parents(base):
    csv = "".join(f"{i},Department {i}\n" for i in range(1, 4)).encode()
    assert call(base, "POST", "/api/v1/tables/departments/upload", csv, "text/csv")[0] == 201
    csv = "".join(f"{i},Job {i}\n" for i in range(1, 5)).encode()
    assert call(base, "POST", "/api/v1/tables/jobs/upload", csv, "text/csv")[0] == 201


def test_concurrent_batches_and_csv_loads_count_exactly(stack, sql):
    base = stack["url"]
    load_parents(base)

    def batches(client: int) -> int:
        inserted = 0
        for n in range(10):
            rows = hires(client * 100_000 + n * 100, 100)
            status, report = post_json(base, "/api/v1/tables/hired_employees/batch",
                                       {"rows": rows})  # fmt: skip
            assert status == 201, report
            inserted += report["inserted"]
        return inserted

    def upload(first: int) -> int:
        body = "".join(f"{i},Upload {i},{HIRE},1,1\n" for i in range(first, first + 20_000))
        body += f"{first + 20_000},,{HIRE},1,1\n"  # one reject
        status, report = call(base, "POST", "/api/v1/tables/hired_employees/upload",
                              body.encode(), "text/csv")  # fmt: skip
        report = json.loads(report)
        assert status == 201 and report["rejected"] == 1, report
        return report["inserted"]

    with ThreadPoolExecutor(6) as pool:
        done = [pool.submit(batches, c) for c in range(1, 5)]
        done += [pool.submit(upload, first) for first in (1_000_000, 2_000_000)]
        inserted = sum(f.result() for f in done)
    assert inserted == 4 * 10 * 100 + 2 * 20_000
    assert sql("SELECT count(*) FROM hired_employees") == [(inserted,)]
    assert_hire_counts_exact(sql)


def test_restore_insights_and_metrics_through_pgbouncer(stack, sql):
    base = stack["url"]
    load_parents(base)
    assert post_json(base, "/api/v1/tables/hired_employees/batch",
                     {"rows": hires(1, 500)})[0] == 201  # fmt: skip
    status, made = call(base, "POST", "/api/v1/tables/hired_employees/backups", b"")
    assert status == 201, made
    before = sql("SELECT * FROM hired_employees ORDER BY id")
    sql("UPDATE hired_employees SET name = 'changed' WHERE id < 100")
    sql("DELETE FROM hired_employees WHERE id > 400")
    status, report = post_json(base, "/api/v1/tables/hired_employees/restore", {})
    assert status == 200 and (report["updated"], report["inserted"]) == (99, 100), report
    assert sql("SELECT * FROM hired_employees ORDER BY id") == before
    answers = set()
    for _ in range(12):  # past psycopg's prepare threshold (5), on every instance
        for path in ("hires-by-quarter", "departments-above-mean"):
            status, body = call(base, "GET", f"/api/v1/insights/{path}?year=2021")
            assert status == 200, body
            answers.add((path, body))
    assert len(answers) == 2  # the same answer from every instance
    status, text = call(base, "GET", "/metrics")
    assert status == 200 and b"hrapi_requests_total" in text


def slow_client(port: int, path: str, content_type: str, seconds: float, answers: list):
    """Send headers, then a body one byte a second; keep what the server answered, if it did."""
    body = b'{"rows": []}' if content_type == "application/json" else b"1,x\n" * 100
    with socket.create_connection(("127.0.0.1", port), timeout=seconds + 10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode())  # fmt: skip
        sock.settimeout(1)
        deadline = time.monotonic() + seconds
        for byte in body:
            if time.monotonic() > deadline:
                break
            try:
                sock.sendall(bytes([byte]))
                answer = sock.recv(200)
                if answer:
                    answers.append(answer.split(b"\r\n", 1)[0])
                    return
            except TimeoutError:
                continue
            except OSError:
                return


def test_slow_clients_do_not_stall_the_service(stack):
    base = stack["url"]
    port = int(base.rsplit(":", 1)[1])
    answers: list = []
    slow = [threading.Thread(target=slow_client, args=(
                port, "/api/v1/tables/hired_employees/batch" if n % 2 else
                "/api/v1/tables/jobs/upload",
                "application/json" if n % 2 else "text/csv", 12, answers))
            for n in range(40)]  # fmt: skip
    for thread in slow:
        thread.start()
    time.sleep(2)  # every slow client is connected and sending
    timings = []
    while any(thread.is_alive() for thread in slow) and len(timings) < 40:
        started = time.monotonic()
        status, _ = call(base, "GET", "/health", timeout=5)
        timings.append(time.monotonic() - started)
        assert status == 200
        time.sleep(0.2)
    for thread in slow:
        thread.join()
    assert len(timings) >= 20 and max(timings) < 1.0, timings
    assert any(b" 503 " in a for a in answers), answers  # uploads past the slots: turned away


def test_an_instance_killed_mid_run_and_clients_go_on(stack, sql):
    base = stack["url"]
    load_parents(base)
    results: list[tuple[float, int]] = []
    stop = threading.Event()

    def client(number: int):
        n = 0
        while not stop.is_set():
            first = number * 1_000_000 + n * 10
            try:
                status, _ = post_json(base, "/api/v1/tables/hired_employees/batch",
                                      {"rows": hires(first, 10)})  # fmt: skip
            except (OSError, http.client.HTTPException):  # the kill cut the answer off
                status = 0
            results.append((time.monotonic(), status))
            n += 1

    threads = [threading.Thread(target=client, args=(c,)) for c in range(1, 5)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    victim = stack["pids"]["api-2"]
    os.killpg(victim, signal.SIGKILL)  # the instance's master and its workers
    killed = time.monotonic()
    time.sleep(4)
    stop.set()
    for thread in threads:
        thread.join()
    after = [status for at, status in results if at > killed + 1]
    assert len(after) > 20 and all(status == 201 for status in after), after
    statuses = [status for _, status in results]
    stored = sql("SELECT count(*) FROM hired_employees")[0][0]
    answered = statuses.count(201)  # what was answered 201 is there; what the kill cut off
    assert 10 * answered <= stored <= 10 * len(statuses)  # may or may not have committed
    assert_hire_counts_exact(sql)

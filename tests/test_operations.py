"""Operations: request ids, the progress of running loads, and /metrics."""

from __future__ import annotations

import io
import logging
import re
import time
from dataclasses import replace

import pytest

from hrapi import create_app
from tests.helpers import SlowBody, batch, load_parents, upload_csv, upload_in_background

HIRE = "2021-03-04T05:06:07Z"


@pytest.fixture
def log_lines():
    """The lines hrapi's own handler writes, as it formats them."""
    handler = logging.getLogger("hrapi").handlers[0]
    out = io.StringIO()
    copy = logging.StreamHandler(out)
    copy.setFormatter(handler.formatter)
    for each in handler.filters:
        copy.addFilter(each)
    logging.getLogger("hrapi").addHandler(copy)
    yield lambda: out.getvalue().splitlines()
    logging.getLogger("hrapi").removeHandler(copy)


def test_a_request_id_is_echoed_logged_and_kept_with_the_load(client, log_lines):
    load_parents(client)
    response = client.post("/api/v1/tables/jobs/upload", data=b"50,Welder\n",
                           content_type="text/csv",
                           headers={"X-Request-ID": "trace-42.a:b"})  # fmt: skip
    assert response.headers["X-Request-ID"] == "trace-42.a:b"
    load_id = response.get_json()["load_id"]
    assert client.get(f"/api/v1/loads/{load_id}").get_json()["request_id"] == "trace-42.a:b"
    lines = [line for line in log_lines() if "[trace-42.a:b]" in line]
    assert any(f"load load_id={load_id}" in line for line in lines)
    assert any("request method=POST" in line for line in lines)


@pytest.mark.parametrize("given", [None, "", "has space", "x" * 129, "new\nline"])
def test_without_a_usable_request_id_a_new_one_is_made(client, log_lines, given):
    headers = {} if given is None else {"X-Request-ID": given}
    try:
        response = client.get("/health", headers=headers)
    except ValueError:  # werkzeug refuses a line break in a header before sending it
        return
    made = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert any(f"[{made}]" in line for line in log_lines())


def test_errors_carry_the_request_id_too(settings):
    app = create_app(replace(settings, api_key="k"))
    try:
        client = app.test_client()
        response = client.get("/api/v1/loads", headers={"X-Request-ID": "r1"})
        assert response.status_code == 401 and response.headers["X-Request-ID"] == "r1"
        assert (
            client.get("/nowhere", headers={"X-Request-ID": "r2"}).headers["X-Request-ID"] == "r2"
        )
    finally:
        app.extensions["hrapi.db"].close()


def test_a_running_load_shows_the_rows_read_so_far(client, sql):
    load_parents(client)
    uploading, answer = upload_in_background(client, SlowBody(40_000, 5))
    seen = []
    while uploading.is_alive():
        loads = client.get("/api/v1/loads").get_json()["loads"]
        running = [load for load in loads if load["table"] == "hired_employees"]
        if running and running[0]["status"] == "running":
            seen.append(running[0]["received"])
        time.sleep(0.5)
    uploading.join()
    assert answer["response"].status_code == 201
    progress = sorted(set(seen))
    assert len(progress) >= 2 and 0 < progress[-1] < 40_000, seen
    assert sql("SELECT status, received FROM loads WHERE table_name = 'hired_employees'") == [
        ("completed", 40_000)]  # fmt: skip


def test_a_running_load_whose_worker_went_silent_is_marked_failed(client, sql):
    load_parents(client)
    sql("INSERT INTO loads (table_name, source, on_conflict, backend_pid, heartbeat_at) VALUES "
        "('jobs', 'csv', 'reject', pg_backend_pid(), now() - interval '1 minute')")  # fmt: skip
    loads = client.get("/api/v1/loads").get_json()["loads"]
    assert loads[0]["status"] == "failed" and "nothing of it was stored" in loads[0]["error"]


def test_a_batch_has_its_request_id_too(client, sql):
    load_parents(client)
    response = batch(client, "jobs", [{"id": 77, "job": "Cook"}])
    made = response.headers["X-Request-ID"]
    assert sql("SELECT request_id FROM loads WHERE table_name = 'jobs' ORDER BY id DESC "
               "LIMIT 1") == [(made,)]  # fmt: skip
    assert upload_csv(client, "jobs", "78,Baker\n").status_code == 201


def metric(text: str, name: str, **labels) -> float:
    """The value of one series in Prometheus' text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    total = 0.0
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        metric_name, _, rest = series.partition("{")
        found = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if metric_name == name and found == wanted:
            total += float(value)
    return total


def test_metrics_count_requests_loads_rows_and_the_pool(client):
    load_parents(client)
    batch(client, "jobs", [{"id": 10, "job": "Cook"}, {"id": 11, "job": ""}])
    client.get("/api/v1/loads/999999")
    assert client.open("/health", method="BREW").status_code == 405
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert metric(text, "hrapi_requests_total", method="POST", status="201",
                  route="/api/v1/tables/<string:table>/batch") >= 1  # fmt: skip
    assert metric(text, "hrapi_requests_total", method="GET", status="404",
                  route="/api/v1/loads/<int:load_id>") >= 1  # fmt: skip
    assert metric(text, "hrapi_request_duration_seconds_count", method="POST", status="201",
                  route="/api/v1/tables/<string:table>/batch") >= 1  # fmt: skip
    assert metric(text, "hrapi_load_rows_total", table="jobs", outcome="inserted") >= 4
    assert metric(text, "hrapi_load_rows_total", table="jobs", outcome="rejected") >= 1
    assert metric(text, "hrapi_loads_total", table="jobs", status="completed") >= 2
    assert "hrapi_pool_connections_in_use" in text and "hrapi_pool_requests_waiting" in text
    assert 'method="BREW"' not in text and 'method="other"' in text  # no series per junk


def test_metrics_need_the_api_key_when_one_is_set(settings):
    app = create_app(replace(settings, api_key="k"))
    try:
        client = app.test_client()
        assert client.get("/metrics").status_code == 401
        keyed = client.get("/metrics", headers={"Authorization": "Bearer k"})
        assert keyed.status_code == 200 and "hrapi_requests_total" in keyed.get_data(as_text=True)
    finally:
        app.extensions["hrapi.db"].close()


def test_metrics_under_gunicorn_add_up_every_worker(database_url, tmp_path):
    import os
    import signal
    import subprocess
    import urllib.request

    from tests.test_gunicorn import GUNICORN_COMMAND, free_port, wait_until_healthy

    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PORT": str(port), "HOST": "127.0.0.1",
           "WEB_CONCURRENCY": "3", "HRAPI_DATA_DIR": str(tmp_path)}  # fmt: skip
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        process = subprocess.Popen(GUNICORN_COMMAND, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, log)
        for _ in range(30):
            urllib.request.urlopen(f"{base}/health", timeout=10).read()
        texts = [urllib.request.urlopen(f"{base}/metrics", timeout=10).read().decode()
                 for _ in range(3)]  # fmt: skip
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    for text in texts:  # whichever worker answered, it reports every worker's requests
        assert metric(text, "hrapi_requests_total", method="GET", route="/health",
                      status="200") >= 31  # fmt: skip

"""Hostile requests: one error shape everywhere, strict parameters, bounded batch bodies, log
lines nobody can forge."""

from __future__ import annotations

import gzip
import io
import json
import logging
import random
import time

import pytest

from tests.helpers import ListHandler, batch, load_parents, upload_csv


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nowhere", 404), ("DELETE", "/api/v1/loads", 405), ("GET", "/api/v1/loads/x", 404),
     ("GET", "/api/v1/loads?tabel=jobs", 422), ("GET", "/api/v1/tables/jobs/rows?limt=2", 422),
     ("GET", "/api/v1/insights/hires-by-quarter?yaer=2021", 422),
     ("POST", "/api/v1/uploads?x=1", 422), ("GET", "/api/v1/loads/1?formt=csv", 422),
     ("GET", "/api/v1/tables/jobs/backups?x=1", 422), ("GET", "/health?x=1", 422)],
)  # fmt: skip
def test_every_error_has_code_status_and_message(client, method, path, status):
    response = client.open(path, method=method)
    assert response.status_code == status
    body = response.get_json()
    assert body["code"] == status and body["status"] and body["message"], body
    assert response.data.decode() == json.dumps(body, separators=(",", ":")) + "\n", "alike"


def test_unknown_query_parameters_are_named(client):
    body = client.get("/api/v1/loads?tabel=jobs").get_json()
    assert "tabel" in json.dumps(body["errors"]) and "tabel" in body["message"]


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [("POST", "/api/v1/tables/departments/upload?on_conflict=update&on_conflict=reject",
      "on_conflict"),
     ("POST", "/api/v1/tables/departments/upload?delimiter=%3B&delimiter=%2C", "delimiter"),
     ("GET", "/api/v1/tables/jobs/rows?limit=5&limit=10", "limit"),
     ("GET", "/api/v1/insights/hires-by-quarter?year=2021&year=2022&year=2023", "year")],
)  # fmt: skip
def test_a_parameter_given_twice_is_named_not_taken_once(client, sql, method, path, name):
    response = client.open(path, method=method, data="1,Sales\n", content_type="text/csv")
    assert response.status_code == 422
    body = response.get_json()
    assert body["errors"]["query"][name][0].startswith("Given "), body
    assert name in body["message"]
    assert sql("SELECT count(*) FROM loads") == [(0,)]


@pytest.mark.parametrize(("path", "said"), [
    ("/api/v1/insights/hires-by-quarter?year=0",
     "query year: Must be greater than or equal to 1900 and less than or equal to 2100"),
    ("/api/v1/tables/jobs/rows?limit=5000", "query limit: Must be greater than or equal to 1"),
    ("/api/v1/loads?colour=red", "query colour: Unknown field"),
])  # fmt: skip
def test_a_422_message_says_what_is_wrong_with_each_parameter(client, path, said):
    response = client.get(path)
    assert response.status_code == 422
    assert said in response.get_json()["message"], response.get_json()


@pytest.mark.parametrize("body", [[{"id": 1, "department": "Sales"}], "rows", 7, None])
def test_a_batch_body_not_an_object_says_what_a_batch_is(client, sql, body):
    response = client.post("/api/v1/tables/departments/batch", data=json.dumps(body),
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 422
    assert '{"rows": [' in response.get_json()["message"]
    assert sql("SELECT count(*) FROM loads") == [(0,)]


@pytest.mark.parametrize(("body", "said"), [
    ('{"rows": [{"id": 1, "department": "Café"}]}'.encode("latin-1"), "not UTF-8 (at byte 38)"),
    ('{"rows": [{"id": 1, "department": "Sales"}]}'.encode("utf-16"), "UTF-16 or UTF-32"),
    ('{"rows": [{"id": 1, "department": "Sales"}]}'.encode("utf-16-le"), "UTF-16 or UTF-32"),
    (b'{"rows": [{"id": 1,\n "department": "Sales"}}', "line 2 column 24"),
    (b'{"id": 1, "department": "A"}\n{"id": 2, "department": "B"}', "Extra data: line 2"),
])  # fmt: skip
def test_an_unreadable_json_body_says_why_and_where(client, sql, body, said):
    response = client.post("/api/v1/tables/departments/batch", data=body,
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 400
    assert said in response.get_json()["message"], response.get_json()
    assert sql("SELECT count(*) FROM loads") == [(0,)]


def test_a_json_body_after_a_utf8_byte_order_mark_is_read(client, sql):
    """Windows tools (PowerShell, .NET) write one; RFC 8259 lets a reader skip it."""
    body = '\ufeff{"rows": [{"id": 1, "department": "Café"}]}'.encode()
    response = client.post("/api/v1/tables/departments/batch", data=body,
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 201, response.get_json()
    assert sql("SELECT department FROM departments") == [("Café",)]


def test_a_batch_body_over_its_limit_is_413_before_it_is_parsed(client):
    rows = [{"id": i, "name": "x" * 900, "datetime": "2021-01-01T00:00:00Z",
             "department_id": 1, "job_id": 1} for i in range(1, 6000)]  # fmt: skip
    body = json.dumps({"rows": rows}).encode()  # about 5.6 MB, over the 4 MB default
    started = time.perf_counter()
    response = client.post("/api/v1/tables/hired_employees/batch", data=body,
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 413
    assert "HRAPI_MAX_BATCH_MB" in response.get_json()["message"]
    assert time.perf_counter() - started < 0.5
    chunked = client.post(
        "/api/v1/tables/hired_employees/batch",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )  # as gunicorn does
    assert chunked.status_code == 413


def test_a_row_with_many_unknown_keys_gets_one_short_reason(client):
    load_parents(client)
    row = {"id": 1, "name": "A", "datetime": "2021-01-01T00:00:00Z", "department_id": 1,
           "job_id": 1, **{f"k{i}\u0000": i for i in range(2000)}, "\ud800": 1}  # fmt: skip
    response = batch(client, "hired_employees", [row])
    assert response.status_code == 201
    reasons = response.get_json()["rejects"][0]["reasons"]
    assert len(reasons) == 1 and "and 1996 more" in reasons[0] and len(reasons[0]) < 400


@pytest.mark.parametrize(("path", "content_type", "body"), [
    ("/api/v1/tables/departments/upload", "text/csv", b"1,Sales\n"),
    ("/api/v1/tables/departments/batch", "application/json",
     b'{"rows": [{"id": 1, "department": "Sales"}]}'),
])  # fmt: skip
def test_a_compressed_body_is_415_not_read_as_text(client, sql, path, content_type, body):
    response = client.post(path, data=gzip.compress(body), content_type=content_type,
                           headers={"Content-Encoding": "gzip"})  # fmt: skip
    assert response.status_code == 415
    assert "Content-Encoding 'gzip'" in response.get_json()["message"]
    assert sql("SELECT count(*) FROM loads") == [(0,)]
    plain = client.post(path, data=body, content_type=content_type,
                        headers={"Content-Encoding": "identity"})  # fmt: skip
    assert plain.status_code == 201  # identity is no encoding at all
    assert sql("SELECT department FROM departments") == [("Sales",)]


def test_a_path_with_a_line_break_cannot_forge_a_log_line(client):
    handler = ListHandler()
    logging.getLogger("hrapi.request").addHandler(handler)
    try:
        client.get("/api/v1/tables/x%0A2026-12-02 INFO hrapi.request request method=DELETE/rows")
    finally:
        logging.getLogger("hrapi.request").removeHandler(handler)
    assert handler.lines and all("\n" not in line for line in handler.lines)
    assert "\\n2026-12-02" in handler.lines[0]


@pytest.mark.parametrize("args", [["--help"], ["seed", "--help"], ["--version"]])
def test_the_cli_answers_help_and_version_without_a_database(args):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    started = time.perf_counter()
    command = [sys.executable, "-c", "from hrapi.cli import main; main()", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30, check=True)
    assert time.perf_counter() - started < 2.0
    assert "connection" not in (done.stdout + done.stderr).lower()
    assert ("hrapi 0.1.0" in done.stdout) if args == ["--version"] else ("Usage:" in done.stdout)


def test_a_40_mb_csv_line_is_a_reject_in_seconds(client, sql):
    body = b"1,Sales\n2," + b"x" * (40 << 20) + b"\n3,Legal\n"
    started = time.perf_counter()
    response = client.post("/api/v1/tables/departments/upload", data=body,
                           content_type="text/csv")  # fmt: skip
    assert time.perf_counter() - started < 5
    report = response.get_json()
    assert (response.status_code, report["inserted"], report["rejected"]) == (201, 2, 1)
    assert report["rejects"][0]["errors"][0]["code"] == "source-error"
    assert len(report["rejects"][0]["raw"]) <= 10_000
    assert sql("SELECT id FROM departments ORDER BY id") == [(1,), (3,)]


def test_a_cli_command_says_one_line_when_the_database_is_unreachable():
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    command = [sys.executable, "-c", "from hrapi.cli import main; main()", "init-db"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert lines == ["Error: The database is unavailable: no database connection within 5 s"]


def test_messages_say_what_is_wrong_with_the_value(client):
    load_parents(client)
    lines = ["007,Ann,2021-03-04T05:06:07Z,1,1", "+8,Ann,2021-03-04T05:06:07Z,1,1",
             "9,Ann,2021-13-04T05:06:07Z,1,1", "10,Ann,2021-02-30T05:06:07Z,1,1",
             "11,Ann,2021-03-04T05:06:07,1,1", "12.0,Ann,2021-03-04T05:06:07Z,1,1"]  # fmt: skip
    response = client.post("/api/v1/tables/hired_employees/upload",
                           data="\n".join(lines).encode(), content_type="text/csv")  # fmt: skip
    messages = [r["errors"][0]["message"] for r in response.get_json()["rejects"]]
    assert messages == [
        "Not a valid integer: write it without leading zeros.",
        "Not a valid integer: write it without a sign.",
        "Not a valid ISO 8601 datetime with a time zone: month must be in 1..12.",
        "Not a valid ISO 8601 datetime with a time zone: day is out of range for month.",
        "Not a valid ISO 8601 datetime with a time zone: it has none (add Z or an offset such "
        "as +00:00).",
        "Not a valid integer: write it without a decimal point (7, not 7.0).",
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1", "cp1252", "utf-16"])
def test_random_bytes_in_any_encoding_are_rejects_or_a_4xx_never_a_500(client, encoding):
    """Bytes of every value in every position, as a broken export or a hostile client sends
    them: each body is loaded with its rejects (201) or refused whole (4xx)."""
    load_parents(client)
    rng = random.Random(encoding)
    for turn in range(40):
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        if encoding == "utf-16" and turn % 2:
            body = rng.choice([b"\xff\xfe", b"\xfe\xff"]) + body
        if turn % 3 == 0:  # lines of the table's width, with bytes strewn in
            body = b"".join(b"%d,%s,2021-01-01T00:00:00Z,1,1\n" % (i, body[i::7])
                            for i in range(1, 8))  # fmt: skip
        table = rng.choice(["departments", "hired_employees"])
        response = upload_csv(client, table, body, encoding=encoding)
        assert response.status_code in (201, 422), (turn, body, response.get_json())
        if response.status_code == 201:
            report = response.get_json()
            assert report["received"] == report["inserted"] + report["rejected"] + report.get(
                "updated", 0) + report.get("unchanged", 0)  # fmt: skip

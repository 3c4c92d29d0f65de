"""Small helpers shared by the tests."""

from __future__ import annotations

import io
import logging
import threading
import time


def upload_csv(client, table: str, text: str | bytes, *, multipart: bool = False, **query):
    """POST a CSV to /tables/<table>/upload, raw (text/csv) or as multipart field 'file'."""
    body = text.encode("utf-8") if isinstance(text, str) else text
    url = f"/api/v1/tables/{table}/upload"
    if multipart:
        return client.post(
            url,
            data={"file": (io.BytesIO(body), f"{table}.csv")},
            content_type="multipart/form-data",
            query_string=query,
        )
    return client.post(url, data=body, content_type="text/csv", query_string=query)


def batch(client, table: str, rows, **query):
    return client.post(f"/api/v1/tables/{table}/batch", json={"rows": rows}, query_string=query)


def load_parents(client, departments=range(1, 4), jobs=range(1, 4)):
    """Departments and jobs with the given ids, so hires can reference them."""
    upload_csv(client, "departments", "".join(f"{i},Department {i}\n" for i in departments))
    upload_csv(client, "jobs", "".join(f"{i},Job {i}\n" for i in jobs))


def load_synthetic(client, folder, hires: int, seed: int) -> dict:
    """Generate synthetic CSVs into folder and load them all through POST /uploads."""
    from hrapi import synthetic

    paths = synthetic.generate(folder, hires=hires, seed=seed)
    data = {name: (path.open("rb"), path.name) for name, path in paths.items()}
    response = client.post("/api/v1/uploads", data=data, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    return paths


def assert_counts_add_up(report: dict) -> None:
    parts = report["inserted"] + report["updated"] + report["unchanged"] + report["rejected"]
    assert report["received"] == parts, report


class ListHandler(logging.Handler):
    """Collects the messages of a logger (add it with logger.addHandler)."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def assert_hire_counts_exact(sql) -> None:
    """The hire_counts summary (folded sums plus logged changes) equals a plain count."""
    summary = sql("SELECT year, department_id, job_id, quarter, hires FROM hire_counts"
                  " WHERE hires <> 0 ORDER BY 1, 2, 3, 4")  # fmt: skip
    plain = sql(
        "SELECT extract(year FROM datetime AT TIME ZONE 'UTC')::integer, department_id, job_id,"
        " extract(quarter FROM datetime AT TIME ZONE 'UTC')::integer, count(*)"
        " FROM hired_employees GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
    )
    assert summary == plain


class SlowBody(io.BytesIO):
    """A CSV body that arrives over a few seconds, 64 kB at a time."""

    def __init__(self, lines: int, seconds: float):
        hire = "2021-03-04T05:06:07Z"
        rows = "".join(f"{i},Person {i},{hire},1,1\n" for i in range(1, lines + 1)).encode()
        super().__init__(rows)
        self.length = len(rows)
        self.pause = seconds / (len(rows) / 65536)

    def read(self, size=-1):
        time.sleep(self.pause)
        return super().read(size if 0 <= size <= 65536 else 65536)

    def readinto(self, buffer):
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def upload_in_background(client, body: SlowBody) -> tuple[threading.Thread, dict]:
    """Upload a slow body of hires from a thread: (the thread, {"response": ...} once done)."""
    answer: dict = {}
    uploading = threading.Thread(target=lambda: answer.update(response=client.post(
        "/api/v1/tables/hired_employees/upload", input_stream=body,
        content_type="text/csv", content_length=body.length)))  # fmt: skip
    uploading.start()
    return uploading, answer

"""`make bench`: hrapi against its references, measured in the same run on this machine.

Prints one line per target of the performance issue with the measured ratio and the goal:

1. ingest: psql-style COPY of the valid rows into a table with only its primary key, versus
   uploading the whole 1M-row file (3.5% bad rows) through gunicorn into an empty
   hired_employees, every rule enforced (the two take turns three times; medians compared,
   since single timings on this machine vary by a third from one minute to the next);
2. memory: peak RSS of the gunicorn worker that served the upload, 1M and 3M rows;
3. batches: rows per second of 1000-row JSON batches from 4 concurrent clients (median of
   three runs), against the reference COPY's rows per second;
4. insights: p50 over 50 calls of each insight endpoint with 10M hires loaded through the API,
   against the plain GROUP BY queries (sql/insights_reference) on the same table, with
   identical answers.

Data comes from the fixtures generator (cached under bench-data/). The database is
DATABASE_URL's server, or an embedded PostgreSQL; a scratch database hrapi_bench is created
and dropped. Set BENCH_HIRES_10M=0 to skip the 10M-row insights target (it needs a few
minutes to generate and load).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from hrapi import embedded_db, synthetic
from hrapi.config import PROJECT_ROOT, Settings
from hrapi.db import Database
from hrapi.insights import Insights

DATA = PROJECT_ROOT / "bench-data"
BENCH_DB = "hrapi_bench"
REPEATS = 3  # turns of the reference and of each ingest measurement (medians are compared)
GOALS = {"ingest": 0.5, "memory_mb": 150, "memory_growth": 0.10, "batches": 0.25, "insights": 50}


def main() -> int:
    base_url = os.environ.get("DATABASE_URL") or embedded_db.start(Path(".hrapi").resolve())
    url = _scratch_database(base_url)
    results = []
    files = {n: _dataset(n) for n in (1_000_000, 3_000_000)}
    print(
        f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total >> 30} GiB; "
        f"PostgreSQL {_server_version(url)}",
        flush=True,
    )
    with _Server(url) as server:
        # The reference and the 1M upload take turns, REPEATS times; medians are compared.
        references, uploads, peaks = [], [], {}
        for turn in range(1, REPEATS + 1):
            reference_s, valid_rows = _reference_copy(url, files[1_000_000])
            references.append(reference_s)
            seconds, peak = _upload(server, url, files[1_000_000])
            peaks[1_000_000] = max(peaks.get(1_000_000, 0), peak)
            uploads.append(seconds)
            print(
                f"turn {turn}: reference COPY of {valid_rows:,} valid rows into a table with its "
                f"primary key {reference_s:.2f} s; hrapi upload of 1,000,000 rows {seconds:.2f} s,"
                f" worker peak RSS {peak / 2**20:.0f} MB",
                flush=True,
            )
        reference_s, upload_s = statistics.median(references), statistics.median(uploads)
        ingest_ratio = reference_s / upload_s
        seconds, peaks[3_000_000] = _upload(server, url, files[3_000_000])
        print(
            f"hrapi upload of 3,000,000 rows: {seconds:.2f} s, worker peak RSS "
            f"{peaks[3_000_000] / 2**20:.0f} MB",
            flush=True,
        )
        growth = abs(peaks[3_000_000] - peaks[1_000_000]) / peaks[1_000_000]
        results.append(
            (
                "1 ingest",
                ingest_ratio,
                f">= {GOALS['ingest']}",
                ingest_ratio >= GOALS["ingest"],
                "reference_s / hrapi_s",
            )
        )
        peak_mb = max(peaks.values()) / 2**20
        results.append(
            (
                "2 memory",
                peak_mb,
                f"<= {GOALS['memory_mb']} MB, growth <= 10%",
                peak_mb <= GOALS["memory_mb"] and growth <= GOALS["memory_growth"],
                f"peak MB; 1M->3M growth {growth:.1%}",
            )
        )

        rates = []
        for turn in range(1, REPEATS + 1):
            _reset(url)
            server.upload_parents(files[1_000_000])
            rates.append(server.batches(clients=4, batches_per_client=60))
            print(f"turn {turn}: batches {rates[-1]:,.0f} rows/s", flush=True)
        rate = statistics.median(rates)
        reference_rate = valid_rows / reference_s
        batch_ratio = rate / reference_rate
        print(
            f"batches: median {rate:,.0f} rows/s; reference COPY (median) "
            f"{reference_rate:,.0f} rows/s",
            flush=True,
        )
        results.append(
            (
                "3 batches",
                batch_ratio,
                f">= {GOALS['batches']}",
                batch_ratio >= GOALS["batches"],
                "hrapi rows/s / reference rows/s",
            )
        )

        if os.environ.get("BENCH_HIRES_10M", "1") != "0":
            folder = _dataset(10_000_000)
            _reset(url)
            server.upload_parents(folder)
            seconds, _ = server.upload_hires(folder)
            print(f"hrapi upload of 10,000,000 rows: {seconds:.1f} s", flush=True)
            for name, path in (
                ("hires-by-quarter", "hires_by_quarter"),
                ("departments-above-mean", "departments_above_mean"),
            ):
                fast_p50, naive_p50, same = server.insight(url, name, path)
                ratio = naive_p50 / fast_p50
                print(
                    f"insight {name}: p50 {fast_p50 * 1000:.1f} ms through the API, plain "
                    f"GROUP BY {naive_p50 * 1000:.0f} ms, same answer: {same}",
                    flush=True,
                )
                results.append(
                    (
                        f"4 insights {name}",
                        ratio,
                        f">= {GOALS['insights']}",
                        ratio >= GOALS["insights"] and same,
                        "plain_p50 / api_p50",
                    )
                )
    _drop_database(base_url)
    print()
    for target, value, goal, met, what in results:
        print(
            f"{target:<36} {value:10.2f}  goal {goal:<26} {'MET' if met else 'NOT MET'}  ({what})"
        )
    return 0


def _upload(server, url: str, folder: Path) -> tuple[float, int]:
    """Upload a dataset's hires into an empty hired_employees: (seconds, worker peak RSS)."""
    _reset(url)
    server.upload_parents(folder)
    return server.upload_hires(folder)


def _dataset(hires: int) -> Path:
    folder = DATA / f"hires-{hires}"
    if not (folder / "hired_employees.csv").exists():
        print(f"generating {hires:,} hires into {folder} ...", flush=True)
        synthetic.generate(folder, hires=hires, seed=hires)
        valid = folder / "valid.csv"
        with (folder / "hired_employees.csv").open() as source, valid.open("w") as out:
            out.writelines(line for line in source if ",," not in line and not line.endswith(",\n"))
    return folder


def _scratch_database(base_url: str) -> str:
    _drop_database(base_url)
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    params = conninfo_to_dict(base_url)
    params["dbname"] = BENCH_DB
    return make_conninfo(**params)


def _drop_database(base_url: str) -> None:
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def _server_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def _reset(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE hired_employees, departments, jobs, load_rejects, loads CASCADE")
        conn.execute("CHECKPOINT")  # each measurement starts from the same WAL state


def _reference_copy(url: str, folder: Path) -> tuple[float, int]:
    """What psql's \\copy does: the valid rows' bytes into COPY ... CSV, table with a key."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_reference")
        conn.execute(
            "CREATE TABLE bench_reference (id integer PRIMARY KEY, name text NOT NULL,"
            " datetime timestamptz NOT NULL, department_id integer NOT NULL,"
            " job_id integer NOT NULL)"
        )
        conn.execute("CHECKPOINT")
        started = time.perf_counter()
        with (
            (folder / "valid.csv").open("rb") as source,
            conn.cursor().copy("COPY bench_reference FROM STDIN (FORMAT csv)") as copy,
        ):
            while chunk := source.read(1 << 16):
                copy.write(chunk)
        seconds = time.perf_counter() - started
        rows = conn.execute("SELECT count(*) FROM bench_reference").fetchone()[0]
        conn.execute("DROP TABLE bench_reference")
    return seconds, rows


class _Server:
    """hrapi under gunicorn, as `make run` starts it, on a free port."""

    def __init__(self, url: str):
        self.url = url

    def __enter__(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "PORT": str(port),
            "HRAPI_MAX_UPLOAD_MB": "2048",
            "HRAPI_DATA_DIR": tempfile.mkdtemp(),
        }
        self.log = tempfile.NamedTemporaryFile("w", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:hrapi.gunicorn_conf",
                "hrapi:create_app()",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.call("GET", "/health")[0] == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start; see {self.log.name}")
            time.sleep(0.2)

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)

    def call(self, method, path, body=None, content_type=None, headers=None):
        request = urllib.request.Request(self.base + path, data=body, method=method)
        for name, value in {**(headers or {}), "Content-Type": content_type or ""}.items():
            if value:
                request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=3600) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def upload_parents(self, folder: Path) -> None:
        for table in ("departments", "jobs"):
            body = (folder / f"{table}.csv").read_bytes()
            status, answer = self.call("POST", f"/api/v1/tables/{table}/upload", body, "text/csv")
            assert status == 201, answer

    def upload_hires(self, folder: Path) -> tuple[float, int]:
        """Upload hired_employees.csv streaming; (seconds, peak RSS of the serving worker)."""
        path = folder / "hired_employees.csv"
        workers = psutil.Process(self.process.pid).children()
        peak = {w.pid: w.memory_info().rss for w in workers}
        done = threading.Event()

        def watch():
            while not done.is_set():
                for worker in workers:
                    with contextlib.suppress(psutil.Error):
                        peak[worker.pid] = max(peak[worker.pid], worker.memory_info().rss)
                time.sleep(0.05)

        watcher = threading.Thread(target=watch)
        watcher.start()
        started = time.perf_counter()
        with path.open("rb") as body:
            request = urllib.request.Request(
                self.base + "/api/v1/tables/hired_employees/upload",
                data=body,
                method="POST",
                headers={"Content-Type": "text/csv", "Content-Length": str(path.stat().st_size)},
            )
            with urllib.request.urlopen(request, timeout=3600) as response:
                report = json.loads(response.read())
        seconds = time.perf_counter() - started
        done.set()
        watcher.join()
        assert report["status"] == "completed", report
        served = max(peak, key=lambda pid: peak[pid])
        return seconds, peak[served]

    def batches(self, clients: int, batches_per_client: int) -> float:
        """Rows per second of 1000-row JSON batches sent by concurrent clients.

        The request bodies are made before the clock starts, as the reference's file is.
        """

        def body(first: int) -> bytes:
            rows = [
                {
                    "id": i,
                    "name": f"Batch {i}",
                    "datetime": f"2021-{1 + i % 12:02d}-{1 + i % 28:02d}T07:08:{i % 60:02d}Z",
                    "department_id": 1 + i % 12,
                    "job_id": 1 + i % 180,
                }
                for i in range(first, first + 1000)
            ]
            return json.dumps({"rows": rows}).encode()

        bodies = [
            [body(1 + (number * batches_per_client + b) * 1000) for b in range(batches_per_client)]
            for number in range(clients)
        ]

        def client(number: int) -> int:
            sent = 0
            for request_body in bodies[number]:
                status, answer = self.call(
                    "POST", "/api/v1/tables/hired_employees/batch", request_body,
                    "application/json",
                )  # fmt: skip
                assert status == 201, answer
                sent += json.loads(answer)["inserted"]
            return sent

        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            rows = sum(pool.map(client, range(clients)))
        return rows / (time.perf_counter() - started)

    def insight(self, url: str, name: str, query: str) -> tuple[float, float, bool]:
        """(p50 s of 50 API calls, p50 s of 3 plain queries, whether both answer the same)."""
        timings = []
        for _ in range(50):
            started = time.perf_counter()
            status, body = self.call("GET", f"/api/v1/insights/{name}?year=2021")
            timings.append(time.perf_counter() - started)
            assert status == 200, body
        served = json.loads(body)
        database = Database(url, 1, Settings().sql_dir)
        database.open()
        try:
            plain = Insights(database, Settings().sql_dir, group="insights_reference")
            naive = []
            for _ in range(3):
                started = time.perf_counter()
                answer = getattr(plain, query)(2021)
                naive.append(time.perf_counter() - started)
        finally:
            database.close()
        if query == "hires_by_quarter":
            same = served["rows"] == answer
        else:
            same = (served["mean"], served["rows"]) == answer
        return statistics.median(timings), statistics.median(naive), same


if __name__ == "__main__":
    raise SystemExit(main())

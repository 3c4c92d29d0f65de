"""`make bench`: hrapi against its references, measured in the same run on this machine.

Prints one table (input, hrapi s, reference s, ratio, goal, met). Each reference is what psql's
`\\copy` does: the valid rows of the same file, in the same dialect, COPY'd into a table with
only its primary key. hrapi and the reference take turns REPEATS times; a row's ratio is the
median of its turns' ratios, each hrapi turn against the reference turn just before it (single
timings on this machine vary by a third from one minute to the next, and a turn's two sides are
seconds apart); the seconds printed are each side's median:

- the dialect matrix: 1M-row files (3.5% bad rows) uploaded through gunicorn into an empty
  hired_employees, every rule enforced; the plain LF file is also the first-load row; UTF-16,
  which COPY does not take, against the same rows in UTF-8;
- 1M new ids into a table holding 1M rows, and the same file again (all unchanged); these, the
  file of rejected rows and the batches take their own turns of the plain file's reference;
- a backup of 1M hires and its restore into the emptied table, against COPY out and in;
- 1000-row JSON batches from 4 clients, in rows per second, against the reference's;
- the worker's peak memory over every upload (its RSS plus its helper processes' own), and
  its growth from 1M to 3M rows (the 3M file uploaded right after the 1M turns);
- with BENCH_HIRES_10M=1: the insights with 10M hires against plain GROUP BY queries.

Data comes from the fixtures generator (cached under bench-data/). The database is
DATABASE_URL's server, or an embedded PostgreSQL; a scratch database hrapi_bench is created
and dropped.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import hashlib
import http.client
import itertools
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
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from hrapi import embedded_db, synthetic
from hrapi.config import PROJECT_ROOT, Settings
from hrapi.db import Database
from hrapi.insights import Insights
from hrapi.synthetic import Dialect

DATA = PROJECT_ROOT / "bench-data"
BENCH_DB = "hrapi_bench"
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))  # turns of hrapi and its reference
MILLION = 1_000_000
PLAIN = Dialect()
DIALECTS = {  # name: (dialect, the upload's query parameters)
    "LF": (PLAIN, {}),
    "CRLF": (Dialect(line_end="\r\n"), {}),
    "every field quoted": (Dialect(quote_all=True, line_end="\r\n"), {}),
    "header line": (Dialect(header=True), {}),
    "+00:00 offsets": (Dialect(zone="+00:00"), {}),
    "fractional seconds": (Dialect(fraction_digits=6), {}),
    "SQL Server datetimes (.1234567 +00:00)": (
        Dialect(separator=" ", fraction_digits=7, zone=" +00:00"),
        {},
    ),
    "1 in 50 names quoted": (Dialect(comma_names=0.02), {}),
    "1 in 50 names of two lines": (Dialect(broken_names=0.02), {}),
    "; delimited": (Dialect(delimiter=";"), {"delimiter": ";"}),
    "latin-1, accented names": (Dialect(encoding="latin-1", accents=True), {"encoding": "latin-1"}),
    "UTF-16 (Excel's Unicode text)": (Dialect(encoding="utf-16"), {"encoding": "utf-16"}),
}
BATCH_FORMS = {"Z": "Z", "+00:00": "+00:00", "fractional seconds": ".123456Z",
               ".NET's 7 decimals": ".1234567Z"}  # fmt: skip
GOALS = {"dialect": 0.6, "first load": 0.8, "into 1M rows": 0.4, "batches": 0.3,
         "all rejected": 0.2, "backups": 0.3}  # fmt: skip
MEMORY_MB, MEMORY_GROWTH = 150, 0.10


@dataclass
class Row:
    what: str
    hrapi: float
    reference: float
    ratio: float
    goal: float

    @property
    def met(self) -> bool:
        return self.ratio >= self.goal


def main() -> int:
    base_url = os.environ.get("DATABASE_URL") or embedded_db.start(Path(".hrapi").resolve())
    url = _scratch_database(base_url)
    print(f"machine: {os.cpu_count()} cores, {psutil.virtual_memory().total >> 30} GiB; "
          f"PostgreSQL {_server_version(url)}", flush=True)  # fmt: skip
    rows: list[Row] = []
    peaks: dict[str, int] = {}
    with _Server(url) as server:
        for name, (dialect, params) in DIALECTS.items():
            folder = _dataset(MILLION, dialect)
            reference_folder, reference_dialect = _reference_of(folder, dialect)
            hrapi_s, reference_s, ratio = _turns(
                url, server, folder, reference_dialect, params, peaks=peaks, name=name,
                reference_folder=reference_folder,
            )  # fmt: skip
            rows.append(Row(f"dialect: {name}", hrapi_s, reference_s, ratio, GOALS["dialect"]))
            if dialect == PLAIN:
                rows.append(Row("first load of an empty table (LF)", hrapi_s, reference_s,
                                ratio, GOALS["first load"]))  # fmt: skip
                # 3M rows right after the 1M ones: the growth is the file's, not the run's
                seconds, peaks["3M"] = _upload(url, server, _dataset(3 * MILLION, PLAIN), {})
                print(f"3M rows: {seconds:.2f} s, worker peak {peaks['3M'] >> 20} MB", flush=True)
        rows += _into_a_full_table(url, server, peaks)
        rows += _backup_and_restore(url, server)
        plain = _dataset(MILLION, PLAIN)
        bad = _dataset(MILLION, Dialect(zone=""))  # no time zone: every row rejected
        hrapi_s, reference_s, ratio = _turns(
            url, server, bad, PLAIN, {}, peaks=peaks, name="all rejected", reference_folder=plain
        )
        rows.append(Row("a file of 1M rows all rejected (no time zones)", hrapi_s, reference_s,
                        ratio, GOALS["all rejected"]))  # fmt: skip
        for name, zone in BATCH_FORMS.items():
            rates, references = [], []
            for _ in range(REPEATS):
                references.append(_valid_rows(plain) / _reference_copy(url, plain, PLAIN))
                _reset(url)
                server.upload(plain / "departments.csv", "departments")
                server.upload(plain / "jobs.csv", "jobs")
                rates.append(server.batches(clients=4, batches_per_client=60, zone=zone))
            rate, reference_rate = statistics.median(rates), statistics.median(references)
            print(f"batches ({name}): {', '.join(f'{r:,.0f}' for r in rates)} rows/s, reference "
                  f"{', '.join(f'{r:,.0f}' for r in references)}", flush=True)  # fmt: skip
            rows.append(Row(f"1000-row JSON batches, 4 clients ({name}), rows/s", rate,
                            reference_rate, _paired(rates, references),
                            GOALS["batches"]))  # fmt: skip
        insights = _insights(url, server) if os.environ.get("BENCH_HIRES_10M") == "1" else []
    _drop_database(base_url)
    _print_table(rows, peaks, insights)
    return 0


def _turns(url, server, folder: Path, dialect: Dialect, params: dict, *, peaks: dict, name: str,
           reference_folder: Path | None = None):  # fmt: skip
    """REPEATS interleaved turns of the reference (of reference_folder's valid rows, folder's
    by default) and of hrapi's upload of folder: each side's median seconds, and the median of
    the turns' ratios."""
    references, uploads = [], []
    for turn in range(1, REPEATS + 1):
        references.append(_reference_copy(url, reference_folder or folder, dialect))
        seconds, peak = _upload(url, server, folder, params)
        uploads.append(seconds)
        peaks[name] = max(peaks.get(name, 0), peak)
        print(f"{name} turn {turn}: reference {references[-1]:.2f} s, hrapi {seconds:.2f} s, "
              f"worker peak {peak >> 20} MB", flush=True)  # fmt: skip
    return statistics.median(uploads), statistics.median(references), _paired(references, uploads)


def _paired(better, measured) -> float:
    """The median of the turns' ratios, better / measured: the reference's seconds over
    hrapi's, or hrapi's rows per second over the reference's."""
    return statistics.median(b / m for b, m in zip(better, measured, strict=True))


def _reference_of(folder: Path, dialect: Dialect) -> tuple[Path, Dialect]:
    """The files and dialect of a dataset's reference: its own, but for UTF-16, which
    PostgreSQL's COPY does not take (its reference is the same rows in UTF-8, the LF file)."""
    if dialect.encoding == "utf-16":
        return _dataset(MILLION, PLAIN), PLAIN
    return folder, dialect


def _into_a_full_table(url, server, peaks: dict) -> list[Row]:
    """1M new ids into a table holding 1M rows, then the same file again, each turn after a
    turn of the reference (the plain file's)."""
    stored, new = _dataset(MILLION, PLAIN), _dataset(MILLION, PLAIN, first_id=MILLION + 1)
    fresh, again, references = [], [], []
    for turn in range(1, REPEATS + 1):
        references.append(_reference_copy(url, stored, PLAIN))
        _upload(url, server, stored, {})
        seconds, peaks["new ids"] = server.upload(new / "hired_employees.csv", "hired_employees")
        fresh.append(seconds)
        seconds, peaks["unchanged"] = server.upload(new / "hired_employees.csv", "hired_employees")
        again.append(seconds)
        print(f"into 1M rows, turn {turn}: reference {references[-1]:.2f} s, 1M new ids "
              f"{fresh[-1]:.2f} s, the same again {again[-1]:.2f} s", flush=True)  # fmt: skip
    new_s, again_s = statistics.median(fresh), statistics.median(again)
    reference_s = statistics.median(references)
    return [
        Row("1M new ids into a table of 1M", new_s, reference_s, _paired(references, fresh),
            GOALS["into 1M rows"]),
        Row("the same file again (all unchanged)", again_s, reference_s,
            _paired(references, again), GOALS["into 1M rows"]),
    ]  # fmt: skip


def _backup_and_restore(url, server) -> list[Row]:
    """A backup of 1M hires and its restore into the emptied table, against COPY of the same
    rows out to a file and back into a table with its primary key (psql's \\copy to, from)."""
    _upload(url, server, _dataset(MILLION, PLAIN), {})
    times: dict[str, list[float]] = {"to": [], "backup": [], "from": [], "restore": []}
    columns = "id, name, datetime, department_id, job_id"
    with tempfile.TemporaryDirectory() as scratch, psycopg.connect(url, autocommit=True) as conn:
        dump = Path(scratch) / "hires.txt"
        for turn in range(1, REPEATS + 1):
            _wait_until_idle(url)
            started = time.perf_counter()
            query = f"COPY (SELECT {columns} FROM hired_employees ORDER BY id) TO STDOUT"
            with dump.open("wb") as out, conn.cursor().copy(query) as copy:
                for block in copy:
                    out.write(block)
            times["to"].append(time.perf_counter() - started)
            started = time.perf_counter()
            status, body = server.call("POST", "/api/v1/tables/hired_employees/backups")
            times["backup"].append(time.perf_counter() - started)
            assert status == 201, body
            conn.execute("DROP TABLE IF EXISTS bench_reference")
            conn.execute("CREATE TABLE bench_reference (LIKE hired_employees INCLUDING INDEXES)")
            conn.execute("CHECKPOINT")
            started = time.perf_counter()
            with dump.open("rb") as source, conn.cursor().copy(
                    f"COPY bench_reference ({columns}) FROM STDIN") as copy:  # fmt: skip
                while chunk := source.read(1 << 16):
                    copy.write(chunk)
            times["from"].append(time.perf_counter() - started)
            conn.execute("DROP TABLE bench_reference")
            conn.execute("TRUNCATE hired_employees")
            conn.execute("CHECKPOINT")
            started = time.perf_counter()
            status, body = server.call("POST", "/api/v1/tables/hired_employees/restore", b"{}",
                                       "application/json")  # fmt: skip
            times["restore"].append(time.perf_counter() - started)
            assert status == 200 and json.loads(body)["inserted"] > 900_000, body
            took = ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items())
            print(f"backups, turn {turn}: {took}", flush=True)
    median = {k: statistics.median(v) for k, v in times.items()}
    return [
        Row("backup of 1M hires (AVRO) against COPY ... TO", median["backup"], median["to"],
            _paired(times["to"], times["backup"]), GOALS["backups"]),
        Row("restore of 1M hires into the emptied table, against COPY ... FROM",
            median["restore"], median["from"], _paired(times["from"], times["restore"]),
            GOALS["backups"]),
    ]  # fmt: skip


def _print_table(rows: list[Row], peaks: dict, insights: list) -> None:
    print()
    print(f"{'input':<58} {'hrapi':>10} {'reference':>10} {'ratio':>6} {'goal':>6}  met")
    for row in rows:
        unit = "" if "rows/s" in row.what else " s"
        value = f"{row.hrapi:,.0f}" if unit == "" else f"{row.hrapi:.2f}"
        reference = f"{row.reference:,.0f}" if unit == "" else f"{row.reference:.2f}"
        print(f"{row.what:<58} {value:>10} {reference:>10} {row.ratio:>6.2f} "
              f">={row.goal:<4}  {'yes' if row.met else 'NO'}")  # fmt: skip
    peak = max(peaks.values()) >> 20
    growth = abs(peaks["3M"] - peaks["LF"]) / peaks["LF"]
    met = peak <= MEMORY_MB and growth <= MEMORY_GROWTH
    print(f"{'worker peak memory, helpers too; growth 1M -> 3M rows':<58} {peak:>7} MB "
          f"{growth:>10.1%}        <={MEMORY_MB} MB, <={MEMORY_GROWTH:.0%}  "
          f"{'yes' if met else 'NO'}")  # fmt: skip
    for what, ratio, same in insights:
        print(f"{what:<58} {ratio:>27.0f}x >=50x  {'yes' if ratio >= 50 and same else 'NO'}")


def _upload(url: str, server, folder: Path, params: dict) -> tuple[float, int]:
    """A dataset's hires into an empty hired_employees: (seconds, worker peak RSS)."""
    _reset(url)
    server.upload(folder / "departments.csv", "departments")
    server.upload(folder / "jobs.csv", "jobs")
    return server.upload(folder / "hired_employees.csv", "hired_employees", params)


def _dataset(hires: int, dialect: Dialect, first_id: int = 1) -> Path:
    """The generator's files in dialect (cached), with valid.csv: the valid rows alone."""
    label = "-".join(f"{k}={v!r}" for k, v in vars(dialect).items() if v != vars(PLAIN)[k])
    slug = hashlib.sha256(label.encode()).hexdigest()[:8]
    folder = DATA / f"hires-{hires}-from-{first_id}-{slug}"
    if not (folder / "valid.csv").exists():
        print(f"generating {hires:,} hires ({label or 'plain'}) into {folder} ...", flush=True)
        synthetic.generate(folder, hires=hires, seed=hires, dialect=dialect, first_id=first_id)
        _write_valid_rows(folder, dialect)
    return folder


def _write_valid_rows(folder: Path, dialect: Dialect) -> None:
    quoting = csv.QUOTE_ALL if dialect.quote_all else csv.QUOTE_MINIMAL
    with (
        (folder / "hired_employees.csv").open(newline="", encoding=dialect.encoding) as source,
        (folder / "valid.csv").open("w", newline="", encoding=dialect.encoding) as out,
    ):
        reader = csv.reader(source, delimiter=dialect.delimiter)
        writer = csv.writer(out, delimiter=dialect.delimiter, lineterminator=dialect.line_end,
                            quoting=quoting)  # fmt: skip
        if dialect.header:
            writer.writerow(next(reader))
        writer.writerows(row for row in reader if "" not in row and row[2][-1:] in "Z0")


def _valid_rows(folder: Path) -> int:
    with (folder / "valid.csv").open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))


def _scratch_database(base_url: str) -> str:
    _drop_database(base_url)
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return make_conninfo(**{**conninfo_to_dict(base_url), "dbname": BENCH_DB})


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


def _wait_until_idle(url: str) -> None:
    """Wait until no other session of the database is at work (hrapi folds its hire counts
    after a load's response is sent), so that neither side is timed beside the other's work."""
    busy = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state <> 'idle'")  # fmt: skip
    deadline = time.monotonic() + 120
    with psycopg.connect(url, autocommit=True) as conn:
        while conn.execute(busy).fetchone()[0] and time.monotonic() < deadline:
            time.sleep(0.05)


def _reference_copy(url: str, folder: Path, dialect: Dialect) -> float:
    """What psql's \\copy does: the valid rows' bytes into COPY ... CSV, table with a key."""
    options = [f"DELIMITER '{dialect.delimiter}'", f"HEADER {str(dialect.header).lower()}",
               f"ENCODING '{'LATIN1' if dialect.encoding == 'latin-1' else 'UTF8'}'"]  # fmt: skip
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_reference")
        conn.execute(
            "CREATE TABLE bench_reference (id integer PRIMARY KEY, name text NOT NULL,"
            " datetime timestamptz NOT NULL, department_id integer NOT NULL,"
            " job_id integer NOT NULL)"
        )
        conn.execute("CHECKPOINT")
        _wait_until_idle(url)
        started = time.perf_counter()
        copy_sql = f"COPY bench_reference FROM STDIN (FORMAT csv, {', '.join(options)})"
        with (folder / "valid.csv").open("rb") as source, conn.cursor().copy(copy_sql) as copy:
            while chunk := source.read(1 << 16):
                copy.write(chunk)
        seconds = time.perf_counter() - started
        conn.execute("DROP TABLE bench_reference")
    return seconds


class _Server:
    """hrapi under gunicorn, as `make run` starts it, on a free port."""

    def __init__(self, url: str):
        self.url = url

    def __enter__(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.host, self.port = "127.0.0.1", port
        self.base = f"http://{self.host}:{port}"
        env = {**os.environ, "DATABASE_URL": self.url, "PORT": str(port),
               "HRAPI_MAX_UPLOAD_MB": "2048", "HRAPI_DATA_DIR": tempfile.mkdtemp()}  # fmt: skip
        self.log = tempfile.NamedTemporaryFile("w", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:hrapi.gunicorn_conf",
             "hrapi:create_app()"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                if self.call("GET", "/health")[0] == 200:
                    return self
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start; see {self.log.name}")
            time.sleep(0.2)

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)

    def call(self, method, path, body=None, content_type=None):
        request = urllib.request.Request(self.base + path, data=body, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=3600) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def upload(self, path: Path, table: str, params: dict | None = None) -> tuple[float, int]:
        """Upload a CSV file, streaming: (seconds, peak RSS of the worker that served it)."""
        workers = psutil.Process(self.process.pid).children()
        peak = {w.pid: w.memory_info().rss for w in workers}
        done = threading.Event()

        def watch():
            helpers = dict.fromkeys(peak, 0)  # their own memory, sampled every 10th turn
            for turn in itertools.count():
                if done.is_set():
                    return
                for worker in workers:
                    with contextlib.suppress(psutil.Error):
                        if turn % 10 == 0:
                            helpers[worker.pid] = _helpers_memory(worker)
                        memory = worker.memory_info().rss + helpers[worker.pid]
                        peak[worker.pid] = max(peak[worker.pid], memory)
                time.sleep(0.05)

        watcher = threading.Thread(target=watch)
        watcher.start()
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        _wait_until_idle(self.url)
        started = time.perf_counter()
        # Sent in blocks of 1 MiB, as the reference reads its file in large blocks: the client
        # runs on the server's two cores, and urllib's 8 KiB sends cost it about 0.1 s of CPU
        # more a million rows.
        connection = http.client.HTTPConnection(self.host, self.port, timeout=3600,
                                                blocksize=1 << 20)  # fmt: skip
        with path.open("rb") as body, contextlib.closing(connection):
            connection.request("POST", f"/api/v1/tables/{table}/upload{query}", body=body,
                               headers={"Content-Type": "text/csv",
                                        "Content-Length": str(path.stat().st_size)})  # fmt: skip
            response = connection.getresponse()
            report = json.loads(response.read())
        seconds = time.perf_counter() - started
        done.set()
        watcher.join()
        assert response.status == 201, report
        assert report["status"] == "completed", report
        assert report["received"] > 0, report
        return seconds, max(peak.values())

    def post_batch(self, body: bytes) -> tuple[int, bytes]:
        """A batch of hires, as a lean client sends it: one `http.client` request, the body in
        one send (urllib's 8 KiB sends and its handlers cost the bench's client, which shares
        the server's two cores, about 0.1 ms a batch more: docs/performance.md)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=3600,
                                                blocksize=1 << 20)  # fmt: skip
        with contextlib.closing(connection):
            connection.request("POST", "/api/v1/tables/hired_employees/batch", body=body,
                               headers={"Content-Type": "application/json"})  # fmt: skip
            response = connection.getresponse()
            return response.status, response.read()

    def batches(self, clients: int, batches_per_client: int, zone: str) -> float:
        """Rows per second of 1000-row JSON batches sent by concurrent clients (the bodies
        are made before the clock starts, as the reference's file is)."""

        def body(first: int) -> bytes:
            rows = [{"id": i, "name": f"Batch {i}",
                     "datetime": f"2021-{1 + i % 12:02d}-{1 + i % 28:02d}T07:08:{i % 60:02d}{zone}",
                     "department_id": 1 + i % 12, "job_id": 1 + i % 180}
                    for i in range(first, first + 1000)]  # fmt: skip
            return json.dumps({"rows": rows}).encode()

        bodies = [
            [body(1 + (number * batches_per_client + b) * 1000) for b in range(batches_per_client)]
            for number in range(clients)
        ]

        def client(number: int) -> int:
            sent = 0
            for request_body in bodies[number]:
                status, answer = self.post_batch(request_body)
                assert status == 201, answer
                sent += json.loads(answer)["inserted"]
            return sent

        _wait_until_idle(self.url)
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            rows = sum(pool.map(client, range(clients)))
        return rows / (time.perf_counter() - started)


def _helpers_memory(worker: psutil.Process) -> int:
    """The memory of a worker's helper processes (ingest/parallel.py) that is their own (USS:
    the pages they share with the worker they were forked from are in its RSS)."""
    memory = 0
    for helper in worker.children():
        with contextlib.suppress(psutil.Error):
            memory += helper.memory_full_info().uss
    return memory


def _insights(url: str, server) -> list[tuple[str, float, bool]]:
    """p50 over 50 API calls of each insight with 10M hires, against the plain queries."""
    folder = _dataset(10 * MILLION, PLAIN)
    seconds, _ = _upload(url, server, folder, {})
    print(f"10M rows: {seconds:.1f} s", flush=True)
    _wait_until_idle(url)  # the summary's rebuild after a first load (until then: plain queries)
    results = []
    database = Database(url, 1, Settings().sql_dir)
    database.open()
    try:
        plain = Insights(database, Settings().sql_dir, group="insights_reference")
        for name, query in (("hires-by-quarter", "hires_by_quarter"),
                            ("departments-above-mean", "departments_above_mean")):  # fmt: skip
            timings = []
            for _ in range(50):
                started = time.perf_counter()
                status, body = server.call("GET", f"/api/v1/insights/{name}?year=2021")
                timings.append(time.perf_counter() - started)
                assert status == 200, body
            served, naive = json.loads(body), []
            for _ in range(3):
                started = time.perf_counter()
                answer = getattr(plain, query)(2021)
                naive.append(time.perf_counter() - started)
            same = served["rows"] == answer if query == "hires_by_quarter" else (
                (served["mean"], served["rows"]) == answer)  # fmt: skip
            ratio = statistics.median(naive) / statistics.median(timings)
            results.append((f"insight {name}: plain GROUP BY p50 / API p50", ratio, same))
    finally:
        database.close()
    return results


if __name__ == "__main__":
    raise SystemExit(main())

"""`make stack`: the deployment shape on one machine, all on loopback.

PgBouncer (transaction pooling) in front of DATABASE_URL's server (or the embedded PostgreSQL
when it is unset), STACK_INSTANCES API instances (gunicorn as `make run` starts it, each on a
port of its own, pointed at PgBouncer), and nginx on STACK_PORT balancing them
(templates/stack/hrapi.conf.template says how it treats slow clients). Runtime files (configs,
logs, stack.json with every port and pid) live in HRAPI_DATA_DIR/stack; Ctrl-C stops every
process it started, the API first. nginx and PgBouncer are the distributions' packages,
installed here with apt-get where missing on Debian or Ubuntu (as root).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from importlib import resources
from pathlib import Path
from string import Template

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from hrapi import embedded_db
from hrapi.config import Settings, int_env

PACKAGES = {"nginx": "nginx-light", "pgbouncer": "pgbouncer"}  # command: Debian package
SEARCHED = ("/usr/sbin", "/usr/local/sbin", "/sbin")  # where the packages put them
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "python:hrapi.gunicorn_conf",
            "hrapi:create_app()"]  # fmt: skip
WORKERS_PER_INSTANCE = 4
READY_SECONDS = 90


class StackError(RuntimeError):
    """The stack cannot start; the message says what to do."""


def main() -> int:
    try:
        stack = Stack(Settings())
        stack.start()
    except StackError as exc:
        print(f"make stack: {exc}", file=sys.stderr)
        return 1
    stop = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, _frame: stop.append(number))
    try:
        while not stop:
            stack.watch()
            time.sleep(0.5)
    finally:
        stack.stop()
    return 0


class Stack:
    """The processes of the stack, started in order and stopped in reverse."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.folder = settings.data_dir / "stack"
        self.port = int_env("STACK_PORT", 8080)
        self.instances = int_env("STACK_INSTANCES", 3)
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.embedded = False
        self.reported_dead: set[int] = set()

    def start(self) -> None:
        if self.instances < 1:
            raise StackError("STACK_INSTANCES must be 1 or more.")
        nginx, pgbouncer = (_command(name) for name in PACKAGES)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "stack.json").unlink(missing_ok=True)  # written again once ready
        database_url = self.settings.database_url
        if not database_url:
            database_url = embedded_db.start(self.settings.data_dir)
            self.embedded = True
        try:
            bouncer_url = self._start_pgbouncer(pgbouncer, database_url)
            api_ports = [self._start_api(n, bouncer_url) for n in range(1, self.instances + 1)]
            self._start_nginx(nginx, api_ports)
            self._wait_ready(api_ports)
        except BaseException:
            self.stop()
            raise
        state = {"url": f"http://127.0.0.1:{self.port}", "api_ports": api_ports,
                 "pgbouncer_url": bouncer_url,
                 "pids": {name: p.pid for name, p in self.processes}}  # fmt: skip
        (self.folder / "stack.json").write_text(json.dumps(state, indent=2))
        print(f"hrapi stack ready on {state['url']} (docs: {state['url']}/docs): nginx -> "
              f"{self.instances} API instances on ports {', '.join(map(str, api_ports))} -> "
              f"PgBouncer -> {_without_password(database_url)}. Logs and stack.json in "
              f"{self.folder}. Ctrl-C stops it all.", flush=True)  # fmt: skip

    def _start_pgbouncer(self, command: str, database_url: str) -> str:
        target = conninfo_to_dict(database_url)
        port = _free_port()
        dbname = target.get("dbname") or "postgres"
        fields = {k: target[k] for k in ("host", "port", "user", "password") if target.get(k)}
        fields["dbname"] = dbname
        config = _render("pgbouncer.ini.template", PGB_DATABASE=dbname, PGB_PORT=port,
                         PGB_TARGET=" ".join(f"{k}={_quoted(v)}" for k, v in fields.items()),
                         PGB_POOL_SIZE=20)  # fmt: skip
        ini = self.folder / "pgbouncer.ini"
        ini.write_text(config)
        ini.chmod(0o600)  # it may hold the database's password
        user = []
        if os.geteuid() == 0:  # PgBouncer refuses to run as root: as whom it runs, reading it
            user = ["-u", _pgbouncer_user(target)]
            shutil.chown(ini, user[1])
        self._spawn("pgbouncer", [command, *user, str(ini)])
        _wait_for_port(port, "PgBouncer", self.folder / "pgbouncer.log")
        return make_conninfo(host="127.0.0.1", port=port, dbname=dbname,
                             user=target.get("user") or "postgres")  # fmt: skip

    def _start_api(self, number: int, bouncer_url: str) -> int:
        port = _free_port()
        env = {**os.environ, "DATABASE_URL": bouncer_url, "HRAPI_PGBOUNCER": "1",
               "HOST": "127.0.0.1", "PORT": str(port),
               "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", str(WORKERS_PER_INSTANCE)),
               "HRAPI_BACKUP_DIR": str(self.settings.backup_dir)}  # fmt: skip
        metrics = self.folder / f"metrics-{number}"  # each instance's own, gone with the stack
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
        self._spawn(f"api-{number}", GUNICORN, env=env)
        return port

    def _start_nginx(self, command: str, api_ports: list[int]) -> None:
        workers = int(os.environ.get("WEB_CONCURRENCY", str(WORKERS_PER_INSTANCE)))
        each = max(1, workers // 2)  # uploads at once per instance (see the template)
        servers = [f"server 127.0.0.1:{p} max_fails=1 fail_timeout=5s" for p in api_ports]
        site = _render("hrapi.conf.template",
                       HRAPI_UPSTREAMS="\n    ".join(f"{s};" for s in servers),
                       HRAPI_UPLOAD_UPSTREAMS="\n    ".join(f"{s} max_conns={each};"
                                                          for s in servers),
                       STACK_LISTEN=f"127.0.0.1:{self.port}",
                       HRAPI_MAX_UPLOAD_MB=self.settings.max_upload_mb,
                       GUNICORN_TIMEOUT=os.environ.get("GUNICORN_TIMEOUT", "600"),
                       STACK_UPLOAD_SLOTS=each * len(api_ports),
                       STACK_UPLOAD_SLOTS_EACH=each)  # fmt: skip
        (self.folder / "hrapi.conf").write_text(site)
        temp = self.folder / "nginx-temp"
        user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
        (self.folder / "nginx.conf").write_text(
            f"{user}worker_processes 2;\npid {self.folder}/nginx.pid;\n"
            f"error_log {self.folder}/nginx-error.log warn;\n"
            "events { worker_connections 4096; }\n"
            "http {\n"
            "    log_format hrapi '$remote_addr [$time_local] \"$request\" $status '\n"
            "                     '$request_time s upstream=$upstream_addr id=$hrapi_request_id';\n"
            f"    access_log {self.folder}/nginx-access.log hrapi;\n"
            + "".join(f"    {kind}_temp_path {temp}/{kind};\n"
                      for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            + f"    include {self.folder}/hrapi.conf;\n}}\n"
        )  # fmt: skip
        temp.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(temp, "nobody")
        config = self.folder / "nginx.conf"
        checked = subprocess.run([command, "-t", "-q", "-c", str(config), "-g", "daemon off;"],
                                 capture_output=True, text=True, check=False)  # fmt: skip
        if checked.returncode:
            raise StackError(f"nginx refused its configuration {config}: {checked.stderr}")
        self._spawn("nginx", [command, "-c", str(config), "-g", "daemon off;"])

    def _spawn(self, name: str, argv: list[str], env: dict | None = None) -> None:
        log = (self.folder / f"{name}.log").open("ab")
        process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        log.close()
        self.processes.append((name, process))

    def _wait_ready(self, api_ports: list[int]) -> None:
        deadline = time.monotonic() + READY_SECONDS
        for port in [*api_ports, self.port]:
            while not _healthy(port):
                self.watch(starting=True)
                if time.monotonic() > deadline:
                    raise StackError(f"nothing healthy on port {port} after {READY_SECONDS} s; "
                                     f"see the logs in {self.folder}")  # fmt: skip
                time.sleep(0.3)

    def watch(self, starting: bool = False) -> None:
        """Say when a process of the stack has ended (while starting: fail)."""
        for name, process in self.processes:
            if process.poll() is not None and process.pid not in self.reported_dead:
                self.reported_dead.add(process.pid)
                message = f"{name} (pid {process.pid}) ended with {process.returncode}; see " \
                          f"{self.folder / (name + '.log')}"  # fmt: skip
                if starting:
                    raise StackError(message)
                print(f"make stack: {message}", file=sys.stderr, flush=True)

    def stop(self) -> None:
        """Stop every process, nginx and the API first, then PgBouncer and the database."""
        for _name, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()
        for metrics in self.folder.glob("metrics-*"):
            shutil.rmtree(metrics, ignore_errors=True)
        if self.embedded:
            embedded_db.stop()
            self.embedded = False
        print("hrapi stack stopped", flush=True)


def _command(name: str) -> str:
    """The path of nginx or pgbouncer, installed from Debian's packages where missing."""
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(SEARCHED))
    if found:
        return found
    package = PACKAGES[name]
    if Path("/etc/debian_version").exists() and shutil.which("apt-get") and os.geteuid() == 0:
        print(f"make stack: installing {package} (apt-get) ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
            subprocess.run(argv, env=env, check=False, stdout=subprocess.DEVNULL)
        found = shutil.which(name, path=os.pathsep.join((*SEARCHED, os.environ["PATH"])))
        if found:
            return found
    raise StackError(f"{name} is needed and not installed. Debian/Ubuntu: `sudo apt-get install "
                     f"{package}`; Fedora: `sudo dnf install {name}`; macOS: `brew install "
                     f"{name}`.")  # fmt: skip


def _pgbouncer_user(target: dict) -> str:
    """Whom PgBouncer runs as when started by root (it refuses to run as root): the owner of
    the server's socket folder (the embedded server's own user), else nobody."""
    host = target.get("host") or ""
    if host.startswith("/") and Path(host).is_dir():
        owner = Path(host).owner()
        if owner != "root":
            return owner
    return "nobody"


def _render(template: str, **values) -> str:
    text = (resources.files("hrapi") / "templates" / "stack" / template).read_text()
    return Template(text).safe_substitute({k: str(v) for k, v in values.items()})


def _quoted(value: str) -> str:
    """A value in a libpq-style connect string, as PgBouncer reads it."""
    if value and all(c.isalnum() or c in "._-/" for c in value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, what: str, log: Path, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise StackError(f"{what} did not start listening on port {port}; see {log}")


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _without_password(url: str) -> str:
    fields = conninfo_to_dict(url)
    fields.pop("password", None)
    return make_conninfo(**fields)


if __name__ == "__main__":
    raise SystemExit(main())

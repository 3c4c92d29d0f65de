"""The embedded PostgreSQL always stops with the last process using it, even after one was
killed without its exit hooks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil

OWNER = """
import signal, sys, time
from pathlib import Path
from hrapi import embedded_db
from hrapi.api.request_log import configure_logging
configure_logging()
url = embedded_db.start(Path(sys.argv[1]))
signal.signal(signal.SIGINT, lambda *_: (embedded_db.stop(), sys.exit(0)))  # as gunicorn's on_exit
print(url, flush=True)  # once Ctrl-C is handled: the test interrupts as soon as it reads this
time.sleep(120)
"""


def owner(data_dir):
    command = [sys.executable, "-c", OWNER, str(data_dir)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = process.stdout.readline().strip()
    assert url.startswith("postgresql://"), process.stderr.read()
    return process


def postmaster(data_dir) -> int | None:
    try:
        pid = int((data_dir / "pgdata" / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    return pid if psutil.pid_exists(pid) else None


def test_a_killed_owner_then_ctrl_c_leaves_no_postgresql_behind(tmp_path):
    try:
        _kill_then_interrupt(tmp_path)
    finally:  # whatever happened, no server of this test stays behind
        left = postmaster(tmp_path)
        if left is not None:
            psutil.Process(left).kill()


def _kill_then_interrupt(tmp_path):
    first = owner(tmp_path)
    server = postmaster(tmp_path)
    assert server is not None
    first.kill()  # SIGKILL: no exit hooks; the server goes on, its handle stays recorded
    first.wait(timeout=30)
    assert postmaster(tmp_path) == server
    handles = json.loads((tmp_path / "pgdata" / ".handle_pids.json").read_text())
    assert first.pid in handles
    second = owner(tmp_path)
    assert postmaster(tmp_path) == server  # reused
    second.send_signal(signal.SIGINT)  # Ctrl-C
    _, errors = second.communicate(timeout=60)
    assert "embedded PostgreSQL reused" in errors and "embedded PostgreSQL stopped" in errors
    deadline = time.monotonic() + 30
    while psutil.pid_exists(server):
        assert time.monotonic() < deadline, "the embedded PostgreSQL was left running"
        time.sleep(0.2)
    assert os.path.exists(tmp_path / "pgdata" / "PG_VERSION")  # the data stays

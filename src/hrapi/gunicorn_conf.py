"""Gunicorn settings for `make run` and the container: `gunicorn -c python:hrapi.gunicorn_conf`.

The master process starts the embedded PostgreSQL (when no DATABASE_URL is set) before it
forks the workers, which inherit DATABASE_URL; it stops the server when it exits, so Ctrl-C
leaves no PostgreSQL process behind. The workers' metrics go to files in
PROMETHEUS_MULTIPROC_DIR (a folder of this server's own unless set), so that /metrics, served by
any worker, adds up all of them.
"""

import gc
import os
import shutil
import tempfile
from pathlib import Path

# Before anything imports prometheus_client: it reads this when its metrics are made.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hrapi-metrics-")

from prometheus_client import multiprocess  # noqa: E402

from hrapi import embedded_db  # noqa: E402
from hrapi.api import auth  # noqa: E402
from hrapi.api.errors import WorkerTimeout  # noqa: E402
from hrapi.config import Settings  # noqa: E402

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Two sync workers per core the process may run on: a worker spends about half of a batch
# waiting on PostgreSQL (docs/performance.md).
cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (cores or 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "600"))  # a large upload takes a while
graceful_timeout = 30
accesslog = None  # hrapi logs one line per request itself
errorlog = "-"


def on_starting(server):
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()  # a folder given again: the counts start from zero with the server
    settings = Settings()
    auth.warn_if_open(settings.api_key)
    if not settings.database_url:
        embedded_db.resolve_database_url(None, settings.data_dir)
        server.log.info("embedded PostgreSQL started for the workers")


def worker_abort(worker):
    """The worker outlived its timeout: the request under way answers a JSON 503 and its load
    is marked failed with the reason (instead of gunicorn's bare exit), then the worker ends."""
    worker.alive = False
    raise WorkerTimeout(timeout)


def child_exit(server, worker):
    """A worker's gauges leave the sums when it exits (its counters stay counted)."""
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    embedded_db.stop()
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def post_worker_init(worker):
    """The app's start-up objects (Flask, the schemas, the OpenAPI spec, the SQL) live as long
    as the worker: moved out of the garbage collector's sight, so that its full collections
    scan only what requests create (docs/performance.md)."""
    gc.freeze()

"""The service's Prometheus metrics, one set per process, served at /metrics (api/metrics).

Under gunicorn each worker writes its values to files in PROMETHEUS_MULTIPROC_DIR (set by
gunicorn_conf before anything imports prometheus_client), and /metrics adds up every live
worker's; elsewhere (tests, the CLI) the values live in the process.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess

REQUESTS = Counter("hrapi_requests_total", "HTTP requests answered", ["method", "route", "status"])
REQUEST_SECONDS = Histogram(
    "hrapi_request_duration_seconds", "Time to answer an HTTP request",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)  # fmt: skip
LOAD_ROWS = Counter("hrapi_load_rows_total", "Rows of finished loads, by what became of them",
                    ["table", "outcome"])  # fmt: skip
LOADS = Counter("hrapi_loads_total", "Loads by how they ended", ["table", "status"])
POOL_IN_USE = Gauge("hrapi_pool_connections_in_use", "Database connections lent out",
                    multiprocess_mode="livesum")  # fmt: skip
POOL_WAITING = Gauge("hrapi_pool_requests_waiting", "Requests waiting for a database connection",
                     multiprocess_mode="livesum")  # fmt: skip
OUTCOMES = ("inserted", "updated", "unchanged", "rejected")


def count_load(report) -> None:
    """A finished load (ingest.report.LoadReport): its status, and the rows of a completed one
    by outcome (a dry run, an aborted or a failed load keeps none)."""
    LOADS.labels(report.table, report.status).inc()
    if report.status != "completed":
        return
    for outcome in OUTCOMES:
        rows = getattr(report, outcome)
        if rows:
            LOAD_ROWS.labels(report.table, outcome).inc(rows)


def pool_state(stats: dict) -> None:
    """The pool's state (psycopg_pool's get_stats()) as this process's gauges."""
    POOL_IN_USE.set(stats.get("pool_size", 0) - stats.get("pool_available", 0))
    POOL_WAITING.set(stats.get("requests_waiting", 0))


def registry():
    """What /metrics reports: every live worker's values under gunicorn, else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return REGISTRY

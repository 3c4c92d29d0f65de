"""GET /metrics: Prometheus' text format (hrapi.metrics), and the per-request counts behind it.

Every answer is counted by method, route (the URL rule, not the path: `/api/v1/loads/<int:
load_id>`, so that ids do not make new series) and status, with its duration. With an API key
set, /metrics needs it too (`Authorization: Bearer <key>`, as Prometheus sends it).
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from flask.views import MethodView
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hrapi import metrics
from hrapi.api.json_body import Blueprint

blp = Blueprint("metrics", __name__, description="Metrics for Prometheus")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.response(200, description="Prometheus text format", content_type="text/plain")
    def get(self):
        """Requests, loads and their rows, the database pool: every worker's, added up."""
        return Response(generate_latest(metrics.registry()), content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    @app.after_request
    def count_request(response):
        started = g.get("request_started")
        route = request.url_rule.rule if request.url_rule else "unmatched"
        method = request.method if request.method in METHODS else "other"  # no series per junk
        labels = (method, route, str(response.status_code))
        metrics.REQUESTS.labels(*labels).inc()
        if started is not None:
            metrics.REQUEST_SECONDS.labels(*labels).observe(time.perf_counter() - started)
        return response

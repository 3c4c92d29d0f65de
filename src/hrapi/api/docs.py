"""The health check, the `/` redirect, and Swagger UI's files served locally (no CDN)."""

from __future__ import annotations

from flask import current_app, redirect, send_from_directory
from flask.views import MethodView
from marshmallow import Schema, fields
from swagger_ui_bundle import swagger_ui_path

from hrapi.api.json_body import Blueprint
from hrapi.db import DatabaseUnavailable

blp = Blueprint("health", __name__, description="Liveness and database reachability")

SWAGGER_ASSETS_URL = "/docs/assets/"


class HealthSchema(Schema):
    status = fields.String(metadata={"example": "ok"})
    database = fields.Dict(metadata={"example": {"status": "up", "server_version": "18.6"}})


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="The database cannot be reached")
    @blp.doc(security=[])  # open, whatever HRAPI_API_KEY says
    def get(self):
        """Is the API up, and can it reach its database?"""
        try:
            database = current_app.extensions["hrapi.db"].ping()
        except DatabaseUnavailable as exc:
            return {"status": "degraded", "database": {"status": "down", "error": str(exc)}}, 503
        return {"status": "ok", "database": database}


def init_app(app) -> None:
    """Routes outside the documented API: `/` and the Swagger UI assets."""

    @app.get("/")
    def index():
        return redirect("/docs")

    @app.get(f"{SWAGGER_ASSETS_URL}<path:filename>")
    def swagger_assets(filename: str):
        return send_from_directory(swagger_ui_path, filename, max_age=86400)

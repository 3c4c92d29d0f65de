"""The application factory behind the WSGI entry `hrapi:create_app()`: it reads the settings,
finds the database (DATABASE_URL, or an embedded PostgreSQL), opens the pool, applies the
schema, and registers the API's blueprints.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask_smorest import Api

from hrapi import cli, embedded_db
from hrapi.api import (
    auth,
    content_encoding,
    dashboard,
    docs,
    errors,
    metrics,
    parameters,
    request_log,
)
from hrapi.api import backups as backups_api
from hrapi.api import insights as insights_api
from hrapi.api import loads as loads_api
from hrapi.api import tables as tables_api
from hrapi.backups import Backups
from hrapi.config import Settings
from hrapi.db import Database
from hrapi.ingest import Ingestor
from hrapi.insights import Insights
from hrapi.sql_files import compose_per_table, load_group

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask app for the given settings (default: from the environment)."""
    settings = settings or Settings()
    request_log.configure_logging()

    app = Flask(__name__)
    app.json.sort_keys = False  # keep fields in their documented order
    app.config.update(
        API_TITLE="hrapi",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL=docs.SWAGGER_ASSETS_URL,
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024,
        HRAPI_SETTINGS=settings,
    )

    url = embedded_db.resolve_database_url(settings.database_url, settings.data_dir)
    database = Database(url, settings.pool_size, settings.sql_dir, pgbouncer=settings.pgbouncer)
    app.extensions["hrapi.db"] = database
    database.open()
    try:
        _add_services(app, database, settings)
    except BaseException:
        database.close()
        raise

    request_log.init_app(app)  # first: every later hook and answer has the request's id
    metrics.init_app(app)
    api = Api(app, spec_kwargs={"info": {"description": _API_DESCRIPTION}})
    for blueprint in (docs.blp, tables_api.blp, loads_api.blp, insights_api.blp, backups_api.blp,
                      metrics.blp):  # fmt: skip
        api.register_blueprint(blueprint)
    auth.init_app(app, api, settings.api_key)
    app.register_blueprint(dashboard.bp)
    docs.init_app(app)
    errors.init_app(app, api)
    parameters.init_app(app)
    content_encoding.init_app(app)
    cli.register_commands(app)
    return app


def _add_services(app: Flask, database: Database, settings: Settings) -> None:
    """The parts that read sql/ at start-up (a missing or broken file stops start-up here)."""
    ingestor = Ingestor(database, settings.sql_dir)
    if database.schema_ready:
        ingestor.hire_counts.rebuild_if_stale()  # a first load's, if its process ended first
    app.extensions["hrapi.ingestor"] = ingestor
    insights = Insights(database, settings.sql_dir)
    insights.check_queries()
    app.extensions["hrapi.insights"] = insights
    app.extensions["hrapi.table_sql"] = compose_per_table(
        load_group(
            settings.sql_dir, "tables", required=("read_rows", "count_rows", "wait_for_loads")
        )
    )
    app.extensions["hrapi.backups"] = Backups(
        database, settings.sql_dir, settings.backup_dir, settings.backup_keep
    )


_API_DESCRIPTION = (
    "HR data migration API: load departments, jobs and hired_employees from CSV files or JSON "
    "batches (every row checked against the data dictionary; bad rows rejected and logged), "
    "read the stakeholders' insights, and back tables up to AVRO. The insights as charts: "
    "[the stakeholder dashboard](/dashboard)."
)

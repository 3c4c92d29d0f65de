"""The `hrapi` command: Flask's CLI (run, routes, shell) plus our own commands.

Our commands are registered on the app (`app.cli`), so `hrapi init-db` and
`flask --app hrapi init-db` are the same thing.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from hrapi.db import apply_schema


def _database():
    return current_app.extensions["hrapi.db"]


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create the schema (idempotent: applies only migrations not applied yet)."""
    database = _database()
    with database.pool.connection() as conn:
        applied = apply_schema(conn, database.schema_dir)
    click.echo(f"applied: {', '.join(applied)}" if applied else "schema is up to date")


@click.command("db-url")
@with_appcontext
def db_url() -> None:
    """Print the URL of the database the app uses (starting the embedded one if needed)."""
    click.echo(_database().url)


def register_commands(app: Flask) -> None:
    for command in (init_db, db_url):
        app.cli.add_command(command)


def _create_app():
    from hrapi import create_app  # noqa: PLC0415 - the factory imports this module

    return create_app()


main = FlaskGroup(create_app=_create_app, help="hrapi: the HR data migration service.")

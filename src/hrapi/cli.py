"""The `hrapi` command: Flask's CLI (run, routes, shell) plus our own commands.

Our commands are registered on the app (`app.cli`), so `hrapi init-db` and
`flask --app hrapi init-db` are the same thing.
"""

from __future__ import annotations

import io
import logging
import sys
from contextlib import contextmanager
from importlib.metadata import version as package_version
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from hrapi import create_app, synthetic
from hrapi.backups import BackupError
from hrapi.db import DatabaseUnavailable, apply_schema
from hrapi.ingest import CsvInput, CsvOptions, EmptyInput, Limits, SourceError
from hrapi.ingest.sources import DELIMITERS, ENCODINGS, HEADER_MODES, option_name
from hrapi.tables import LOAD_ORDER, TABLES


def _database():
    return current_app.extensions["hrapi.db"]


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create the schema (idempotent: applies only migrations not applied yet)."""
    database = _database()
    with database.raw_connection(timeout=5) as conn:
        applied = apply_schema(conn, database.schema_dir)
    click.echo(f"applied: {', '.join(applied)}" if applied else "schema is up to date")


@click.command("db-url")
@with_appcontext
def db_url() -> None:
    """Print the URL of the database the app uses (starting the embedded one if needed)."""
    click.echo(_database().url)


class CsvOption(click.Choice):
    """A CSV option's value by its name, in any case or by an alias (sources.option_name), as
    the upload endpoints take it."""

    def __init__(self, option: str, choices):
        super().__init__(list(choices))
        self.option = option

    def convert(self, value, param, ctx):
        return super().convert(option_name(self.option, value) or value, param, ctx)


@click.command("seed")
@click.argument(
    "directory", default="fixtures", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option("--on-conflict", type=click.Choice(["reject", "update"]), default="reject")
@click.option("--delimiter", type=CsvOption("delimiter", DELIMITERS), default=",",
              show_default=True)  # fmt: skip
@click.option("--encoding", type=CsvOption("encoding", ENCODINGS), default="utf-8",
              show_default=True)  # fmt: skip
@click.option("--header", type=CsvOption("header", HEADER_MODES), default="auto",
              show_default=True)  # fmt: skip
@click.option("--append", is_flag=True, help="load into tables that hold rows already")
@with_appcontext
def seed(directory: Path, *, on_conflict: str, delimiter: str, encoding: str, header: str,
         append: bool) -> None:  # fmt: skip
    """Load DIRECTORY/{departments,jobs,hired_employees}.csv, in that order.

    Uses the same code as the upload endpoint (and its CSV options). Into tables that hold
    rows already it loads nothing and exits 1, unless --append is given (rows stored with
    the same values are then unchanged, other ones conflicts, the rest new).
    """
    held = _rows_held()
    if any(held.values()) and not append:
        counts = ", ".join(f"{name} {count}" for name, count in held.items())
        click.echo(f"The tables hold rows already ({counts}): nothing was loaded. Give --append "
                   "to load into them anyway.", err=True)  # fmt: skip
        sys.exit(1)
    options = CsvOptions(delimiter, encoding, header)
    with _quiet("hrapi.rejects", "hrapi.ingest"):  # the summary says it all, after the bars
        reports = _seed_tables(directory, options, on_conflict)
    _print_summary(reports)


def _seed_tables(directory: Path, options: CsvOptions, on_conflict: str) -> list:
    ingestor = current_app.extensions["hrapi.ingestor"]
    reports = []
    for name in LOAD_ORDER:
        path = directory / f"{name}.csv"
        if not path.exists():
            click.echo(f"{path}: not there, skipped")
            continue
        with path.open("rb") as handle, click.progressbar(
            length=path.stat().st_size, label=f"{name:<16}", file=sys.stderr
        ) as progress:  # fmt: skip
            table = TABLES[name]
            data = CsvInput(_Progress(handle, progress.update), table, options)
            try:
                report = ingestor.load(table, data, filename=str(path), limits=Limits(on_conflict))
            except EmptyInput:
                click.echo(f"{path}: empty, skipped")
                continue
            except SourceError as exc:
                raise click.ClickException(f"{path}: {exc}") from exc
        reports.append(report)
    return reports


@contextmanager
def _quiet(*names: str):
    """Those loggers say only warnings while inside (and what they said before, after)."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _rows_held() -> dict[str, int]:
    queries = current_app.extensions["hrapi.table_sql"]
    with _database().connection() as conn:
        return {name: conn.execute(queries[name]["count_rows"]).fetchone()[0]
                for name in LOAD_ORDER}  # fmt: skip


class _Progress(io.RawIOBase):
    """A binary file that reports how many bytes were read, for the progress bar."""

    def __init__(self, handle, advance):
        self._handle = handle
        self._advance = advance

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self._handle.readinto(buffer)
        self._advance(count)
        return count

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()


def _print_summary(reports) -> None:
    counts = ("received", "inserted", "updated", "unchanged", "rejected")
    click.echo(f"{'table':<16} {'load':>5} " + " ".join(f"{c:>9}" for c in counts))
    for report in reports:
        numbers = " ".join(f"{getattr(report, c):>9}" for c in counts)
        click.echo(f"{report.table:<16} {report.load_id:>5} {numbers}")
    if any(r.rejected for r in reports):
        click.echo("rejected rows: GET /api/v1/loads/<load>/rejects")


@click.command("generate-fixtures")
@click.argument("directory", default="fixtures", type=click.Path(file_okay=False, path_type=Path))
@click.option("--hires", default=2000, show_default=True, help="number of hired_employees rows")
@click.option("--seed", "seed_value", default=2021, show_default=True)
def generate_fixtures(directory: Path, hires: int, seed_value: int) -> None:
    """Write synthetic departments, jobs and hired_employees CSVs into DIRECTORY."""
    for name, path in synthetic.generate(directory, hires=hires, seed=seed_value).items():
        click.echo(f"{name}: {path}")


@click.command("backup")
@click.argument("tables", nargs=-1, type=click.Choice(list(TABLES)))
@click.option("--set", "as_set", is_flag=True,
              help="one set of all three tables, read in a single snapshot")  # fmt: skip
@with_appcontext
def backup(tables: tuple[str, ...], as_set: bool) -> None:
    """Write an AVRO backup of each TABLE (all tables when none is named), or a set."""
    backups = _backups()
    if as_set:
        if tables:
            raise click.UsageError("--set backs up all three tables; name none.")
        entry = backups.create_set()
        click.echo(f"set {entry['name']}: " + ", ".join(
            f"{name} {info['rows']} rows" for name, info in entry["tables"].items()))  # fmt: skip
        return
    for name in tables or LOAD_ORDER:
        info = backups.create(TABLES[name])
        click.echo(f"{name}: {backups.folder(TABLES[name]) / info.name} ({info.rows} rows)")


@click.command("backups")
@click.argument("table", required=False, type=click.Choice(list(TABLES)))
@with_appcontext
def list_backups(table: str | None) -> None:
    """List the backups of TABLE (of every table when none is named), then the sets."""
    backups = _backups()
    for name in (table,) if table else LOAD_ORDER:
        listed = backups.list(TABLES[name])
        click.echo(f"{name}: {len(listed) or 'no'} backups")
        for info in listed:
            what = f"problem: {info.problem}" if info.problem else f"{info.rows} rows"
            click.echo(f"  {info.name}  {what}")
    if table:
        return
    sets = backups.list_sets()
    click.echo(f"sets: {len(sets) or 'none'}")
    for entry in sets:
        what = entry["problem"] and f"problem: {entry['problem']}"
        click.echo(f"  {entry['name']}  " + (what or ", ".join(
            f"{t} {info['rows']} rows" for t, info in entry["tables"].items())))  # fmt: skip


@click.command("restore")
@click.argument("table", required=False, type=click.Choice(list(TABLES)))
@click.argument("name", required=False)
@click.option("--set", "set_name", metavar="NAME", help="restore all three tables from set NAME")
@with_appcontext
def restore(table: str | None, name: str | None, set_name: str | None) -> None:
    """Replace TABLE's rows with backup NAME (default: the newest), or all three tables with
    a set's (--set NAME)."""
    if bool(set_name) == bool(table):
        raise click.UsageError("Name a TABLE (and optionally a backup), or give --set NAME.")
    try:
        if set_name:
            reports = list(_backups().restore_set(set_name)["tables"].values())
        else:
            reports = [_backups().restore(TABLES[table], name).as_dict()]
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    for r in reports:
        click.echo(f"{r['table']}: restored {r['backup']}: {r['rows']} rows ({r['inserted']} "
                   f"inserted, {r['updated']} updated, {r['deleted']} deleted, {r['unchanged']} "
                   "unchanged)")  # fmt: skip


def _backups():
    return current_app.extensions["hrapi.backups"]


COMMANDS = (init_db, db_url, seed, generate_fixtures, backup, list_backups, restore)


def register_commands(app: Flask) -> None:
    """Our commands on the app too, for `flask --app hrapi ...`."""
    for command in COMMANDS:
        app.cli.add_command(command)


def _create_app():
    for name in ("psycopg.pool", "hrapi.db", "hrapi.insights"):  # one line says it: see invoke
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return create_app()


class _Cli(FlaskGroup):
    """Flask's command group, with its commands known without building the app: `--help` and
    `--version` never start a database; a command builds the app when it runs."""

    def get_command(self, ctx, name):
        return click.Group.get_command(self, ctx, name)

    def list_commands(self, ctx):
        return click.Group.list_commands(self, ctx)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except DatabaseUnavailable as exc:
            raise click.ClickException(f"The database is unavailable: {exc}") from exc


def _print_version(ctx, _param, value) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"hrapi {package_version('hrapi')}")
        ctx.exit()


main = _Cli(create_app=_create_app, add_version_option=False,
            help="hrapi: the HR data migration service.")  # fmt: skip
main.params.append(click.Option(["--version"], is_flag=True, expose_value=False, is_eager=True,
                                callback=_print_version, help="Show hrapi's version."))  # fmt: skip
for _command in COMMANDS:
    main.add_command(_command)

"""Hand-written SQL from the `sql/` folder, read once at start-up.

Each `.sql` file holds one named query; its name is the file's stem (`sql/insights/x.sql` is
query `x` of the `insights` group). Queries that work on any of the three tables are templates
whose identifiers (`{target}`, `{columns}`, ...) are filled from the fixed table map, never
from request text. A missing folder or an empty file stops start-up with a
message naming it, instead of failing the first request that needs it.
"""

from __future__ import annotations

from pathlib import Path

from psycopg import sql

from hrapi.tables import TABLES, Table

STAGE = sql.Identifier("hrapi_stage")  # the staging table of a restore (dropped at its commit)


class SqlFilesError(RuntimeError):
    """The sql/ folder is missing a file or holds an unusable one."""


def load_group(sql_dir: Path, group: str, required: tuple[str, ...] = ()) -> dict[str, str]:
    """Read every `sql_dir/group/*.sql` into {stem: text}; check the required names exist."""
    folder = sql_dir / group
    if not folder.is_dir():
        raise SqlFilesError(f"SQL folder {folder} is missing (set HRAPI_SQL_DIR?)")
    queries: dict[str, str] = {}
    for path in sorted(folder.glob("*.sql")):
        text = path.read_text(encoding="utf-8").strip()
        if not _without_comments(text):
            raise SqlFilesError(f"SQL file {path} is empty")
        queries[path.stem] = text
    missing = [name for name in required if name not in queries]
    if missing:
        raise SqlFilesError(
            f"SQL files missing in {folder}: {', '.join(n + '.sql' for n in missing)}"
        )
    return queries


def _without_comments(text: str) -> str:
    return "\n".join(
        line for line in text.splitlines() if line.strip() and not line.strip().startswith("--")
    )


def compose_for_table(template: str, table: Table, **extra: sql.Composable) -> sql.SQL:
    """Fill a template's identifiers for one table of the fixed map (rendered once, here: a
    Composed query would quote its identifiers again at every execution).

    `{target}` the table (`{table_name}` its name as a literal), `{stage}` a staging table
    (STAGE unless `extra` names one), `{columns}` all columns, and
    `{target_columns}`/`{stage_columns}` the same qualified with `t.`/`s.`; the `value_`
    variants (`{value_columns}`, `{target_value_columns}`, `{stage_value_columns}`) leave out
    `id`; `{primary_key}` the table's primary-key constraint (named as
    PostgreSQL named it, and as add_primary_key.sql names it again). `extra` fills any other
    placeholder (from the catalog, never from request text).
    """

    def cols(prefix: str | None, names) -> sql.Composed:
        return sql.SQL(", ").join(
            sql.Identifier(prefix, n) if prefix else sql.Identifier(n) for n in names
        )

    values = [c for c in table.columns if c != "id"]
    extra.setdefault("stage", STAGE)
    composed = sql.SQL(template).format(
        target=sql.Identifier(table.name),
        table_name=sql.Literal(table.name),
        primary_key=sql.Identifier(f"{table.name}_pkey"),
        columns=cols(None, table.columns),
        target_columns=cols("t", table.columns),
        stage_columns=cols("s", table.columns),
        value_columns=cols(None, values),
        stage_value_columns=cols("s", values),
        target_value_columns=cols("t", values),
        **extra,
    )
    return sql.SQL(composed.as_string(None))  # None: no connection needed (psycopg >= 3.1)


def compose_per_table(
    templates: dict[str, str], stage_prefix: str | None = None
) -> dict[str, dict[str, sql.SQL]]:
    """{table name: {query name: composed query}} for every table of the fixed map.

    With a stage_prefix, `{stage}` is a staging table of each table's own, named
    prefix + table name (one that may outlive a transaction); else the shared STAGE.
    """
    composed = {}
    for name, table in TABLES.items():
        stage = sql.Identifier(stage_prefix + name) if stage_prefix else STAGE
        composed[name] = {
            query: compose_for_table(text, table, stage=stage) for query, text in templates.items()
        }
    return composed


def add_table_queries(steps: dict[str, dict], sql_dir: Path, names: tuple[str, ...]) -> None:
    """Add the named queries of sql/tables (about a table itself, shared by loads, backups and
    the API), composed for each table, to each table's steps."""
    tables = compose_per_table(load_group(sql_dir, "tables", required=names))
    for table, queries in steps.items():
        queries.update({name: tables[table][name] for name in names})

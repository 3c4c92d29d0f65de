"""Hand-written SQL from the `sql/` folder, read once at start-up.

Each `.sql` file holds one named query; its name is the file's stem (`sql/insights/x.sql` is
query `x` of the `insights` group). A missing folder or an empty file stops start-up with a
message naming it, instead of failing the first request that needs it.
"""

from __future__ import annotations

from pathlib import Path


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

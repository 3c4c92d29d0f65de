"""Settings read from the environment, in one place, with their defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_sql_dir() -> Path:
    """The hand-written SQL: a checkout's top-level sql/, else the copy inside the wheel."""
    checkout = PROJECT_ROOT / "sql"
    if (checkout / "schema").is_dir():
        return checkout
    return Path(str(resources.files("hrapi") / "sql"))


def int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


def _flag_env(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _keep_env(name: str) -> int | None:
    """How many backups to keep: a whole number from 1 up, or unset (keep all)."""
    keep = int_env(name, 0)
    if os.environ.get(name, "").strip() and keep < 1:
        raise SystemExit(f"{name} must be 1 or more (leave it unset to keep every backup)")
    return keep or None


@dataclass(frozen=True)
class Settings:
    """What the app reads from its environment (see the README's configuration table)."""

    database_url: str | None = field(default_factory=lambda: os.environ.get("DATABASE_URL") or None)
    data_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("HRAPI_DATA_DIR", ".hrapi")).resolve()
    )
    api_key: str | None = field(default_factory=lambda: os.environ.get("HRAPI_API_KEY") or None)
    backup_dir: Path = field(
        default_factory=lambda: Path(
            os.environ.get("HRAPI_BACKUP_DIR")
            or Path(os.environ.get("HRAPI_DATA_DIR", ".hrapi")) / "backups"
        ).resolve()
    )
    backup_keep: int | None = field(default_factory=lambda: _keep_env("HRAPI_BACKUP_KEEP"))
    max_upload_mb: int = field(default_factory=lambda: int_env("HRAPI_MAX_UPLOAD_MB", 512))
    max_batch_mb: int = field(default_factory=lambda: int_env("HRAPI_MAX_BATCH_MB", 4))
    pool_size: int = field(default_factory=lambda: int_env("HRAPI_POOL_SIZE", 4))
    pgbouncer: bool = field(default_factory=lambda: _flag_env("HRAPI_PGBOUNCER"))
    sql_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("HRAPI_SQL_DIR") or default_sql_dir())
    )

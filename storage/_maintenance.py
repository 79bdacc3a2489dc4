"""Offline maintenance of a database file: online backup and a read-only inspection."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from ._database import latest_schema_version


@dataclass(frozen=True, slots=True)
class DatabaseReport:
    """What a read-only look at a database file found."""

    exists: bool
    schema_version: int
    latest_version: int
    integrity: str
    patients: int


def backup_database(source: Path, target: Path) -> int:
    """Copy a live database consistently (SQLite online backup); return the pages copied."""
    if not source.is_file():
        raise FileNotFoundError(f"no database at {source}")
    if target.resolve() == source.resolve():
        raise ValueError("the backup must go to another file")
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)
        return int(dst.execute("PRAGMA page_count").fetchone()[0])


def inspect_database(path: Path) -> DatabaseReport:
    """Look at a database without changing it: schema version, integrity, patient count."""
    latest = latest_schema_version()
    if not path.is_file():
        return DatabaseReport(False, 0, latest, "absent", 0)
    try:
        return _inspect(path, latest)
    except sqlite3.DatabaseError as err:
        return DatabaseReport(True, 0, latest, f"unreadable: {err}", 0)


def _inspect(path: Path, latest: int) -> DatabaseReport:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as conn:
        has_table = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        ).fetchone()
        version = 0
        if has_table:
            version = int(
                conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[
                    0
                ]
            )
        integrity = str(conn.execute("PRAGMA quick_check").fetchone()[0])
        patients = 0
        if version >= 1:
            patients = int(conn.execute("SELECT count(*) FROM patients").fetchone()[0])
    return DatabaseReport(True, version, latest, integrity, patients)

"""Offline maintenance of a database file: online backup and a read-only inspection."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.domain.errors import AfterglowError

from ._clinic import HEARTBEAT_KEY
from ._database import latest_schema_version
from ._time import from_ts


class BackupError(AfterglowError):
    """A backup could not be written; nothing was left at the target."""


@dataclass(frozen=True, slots=True)
class DatabaseReport:
    """What a read-only look at a database file found."""

    exists: bool
    schema_version: int
    latest_version: int
    integrity: str
    patients: int
    # When the last dispatcher pass began, if one ever ran.
    heartbeat: datetime | None = None
    # PostgreSQL: how many instances are running on it now (their liveness locks).
    instances: int | None = None
    # PostgreSQL: when the instance running on the host asked about (if one holds its
    # liveness lock) was last seen working.
    seen_here: datetime | None = None


def _read_only(path: Path, timeout: float) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)


def _check_target(source: Path, target: Path) -> Path:
    """Return the folder the backup goes to, or raise BackupError naming the problem."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if target.is_dir():
        raise BackupError(f"{target} is a folder; name a file in it, e.g. {target / 'backup.db'}")
    folder = target.parent
    if not folder.is_dir():
        raise BackupError(f"folder {folder} does not exist")
    if target.exists() and target.resolve() == source.resolve():
        raise BackupError("the backup must go to another file than the database")
    return folder


def _temporary(folder: Path, name: str) -> Path:
    try:
        handle, raw = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    except OSError as err:
        raise BackupError(f"cannot write in {folder} ({err.strerror})") from None
    os.close(handle)
    return Path(raw)


def backup_database(source: Path, target: Path) -> int:
    """Copy a live database consistently (SQLite online backup); return the pages copied.

    The copy is written under a temporary name beside the target, checked with
    `PRAGMA integrity_check`, flushed to disk and only then renamed to the target, so the
    target is either the whole verified copy or untouched. Raises BackupError.
    """
    folder = _check_target(source, target)
    temporary = _temporary(folder, target.name)
    try:
        pages = _copy(source, temporary)
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, target)
    except OSError as err:
        raise BackupError(f"cannot write {target} ({err.strerror})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    _sync_folder(folder)
    return pages


def _copy(source: Path, temporary: Path) -> int:
    try:
        with closing(_read_only(source, 30)) as src, closing(sqlite3.connect(temporary)) as dst:
            src.backup(dst)
            verdict = str(dst.execute("PRAGMA integrity_check").fetchone()[0])
            pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
    except sqlite3.Error as err:
        raise BackupError(f"cannot copy {source}: {err}") from None
    if verdict != "ok":
        raise BackupError(f"the copy of {source} fails its integrity check: {verdict}")
    return pages


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (where the platform allows opening a folder)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def inspect_database(path: Path) -> DatabaseReport:
    """Look at a database without changing it: schema version, integrity, patient count."""
    latest = latest_schema_version()
    if not path.is_file():
        return DatabaseReport(False, 0, latest, "absent", 0)
    try:
        return _inspect(path, latest)
    except sqlite3.DatabaseError as err:
        return DatabaseReport(True, 0, latest, f"unreadable: {err}", 0)


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return found is not None


def _inspect(path: Path, latest: int) -> DatabaseReport:
    with closing(_read_only(path, 10)) as conn:
        version = 0
        if _has_table(conn, "schema_migrations"):
            version = int(
                conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[
                    0
                ]
            )
        integrity = str(conn.execute("PRAGMA quick_check").fetchone()[0])
        patients = 0
        if version >= 1:
            patients = int(conn.execute("SELECT count(*) FROM patients").fetchone()[0])
        heartbeat = None
        if _has_table(conn, "clinic_values"):
            row = conn.execute(
                "SELECT value FROM clinic_values WHERE key = ?", (HEARTBEAT_KEY,)
            ).fetchone()
            heartbeat = _moment(row[0]) if row is not None else None
    return DatabaseReport(True, version, latest, integrity, patients, heartbeat)


def _moment(value: object) -> datetime | None:
    try:
        return from_ts(int(str(value)))
    except ValueError:
        return None

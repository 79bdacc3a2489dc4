"""What every backend offers the repositories: rows, write transactions, migrations.

The repositories hold one copy of their SQL, in the subset SQLite and PostgreSQL share, with
`?` placeholders; `SqliteDatabase` runs it through aiosqlite and `PostgresDatabase` through
SQLAlchemy's asyncpg dialect. The few places where the dialects differ ask the database
(`skip_locked`).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from importlib import resources
from types import TracebackType
from typing import Any, Protocol

from bot.domain.errors import AfterglowError

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class SchemaError(AfterglowError):
    """The database was written by a newer Afterglow or its migrations are inconsistent."""


class Row(Protocol):
    """A result row, read by column position or by name."""

    def __getitem__(self, key: int | str, /) -> Any: ...


class Transaction(Protocol):
    """The statements a write block runs, all inside one transaction."""

    async def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run one statement; return how many rows it changed."""
        ...

    async def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> int:
        """Run one statement once per parameter row; return how many rows changed in all."""
        ...

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run one statement and return the rows it gives (a SELECT or a RETURNING)."""
        ...


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema history, shared by both backends."""

    version: int
    name: str
    sql: str


def _read_migrations(folder_name: str) -> list[Migration]:
    folder = resources.files("storage").joinpath(folder_name)
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match is not None:
            found.append(
                Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8"))
            )
    found.sort(key=lambda migration: migration.version)
    return found


def migrations() -> list[Migration]:
    """Return the shipped migrations in order, numbered 1..n without gaps."""
    found = _read_migrations("migrations")
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise SchemaError(f"migrations are not numbered 1..n without gaps: {versions}")
    return found


def postgres_migrations() -> tuple[Migration, list[Migration]]:
    """Return PostgreSQL's baseline and the steps after it.

    PostgreSQL starts from one baseline file equal to the SQLite schema at its version (a
    test compares the two); every later version is `migrations/postgresql/NNNN_name.sql`
    when the dialects need different DDL, else the shared file of that number.
    """
    shared = migrations()
    own = {migration.version: migration for migration in _read_migrations("migrations/postgresql")}
    baselines = [migration for migration in own.values() if migration.name == "baseline"]
    if len(baselines) != 1:
        raise SchemaError("PostgreSQL needs exactly one baseline migration")
    baseline = baselines[0]
    if baseline.version > len(shared):
        raise SchemaError(f"PostgreSQL baseline {baseline.version} is past the shared history")
    later = [own.get(step.version, step) for step in shared[baseline.version :]]
    return baseline, later


def latest_schema_version() -> int:
    """Return the schema version the shipped migrations lead to."""
    return len(migrations())


class Database(ABC):
    """One database, whichever backend: reads, serialised writes, and its schema."""

    #: "sqlite" or "postgresql".
    dialect: str

    @abstractmethod
    async def open(self) -> None:
        """Connect and bring the schema up to date."""

    @abstractmethod
    async def close(self) -> None:
        """Disconnect; safe to call twice."""

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @abstractmethod
    def write(self) -> AbstractAsyncContextManager[Transaction]:
        """Run a block as one write transaction, serialised with every other write."""

    @abstractmethod
    async def write_one(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run one write statement atomically, returning its RETURNING rows."""

    @abstractmethod
    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run one read-only statement."""

    async def fetch_one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        """Run one read-only statement and return its first row, if any."""
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def schema_version(self) -> int:
        """Return the highest applied migration."""
        row = await self.fetch_one("SELECT coalesce(max(version), 0) FROM schema_migrations")
        return 0 if row is None else int(row[0])

    @abstractmethod
    async def live_instances(self) -> frozenset[int] | None:
        """Return the instances whose liveness lock is held now.

        None where only one process can use the database at a time (SQLite, behind its
        file lock): the caller is then the only live instance.
        """

    @abstractmethod
    def skip_locked(self, alias: str) -> str:
        """Return the clause that makes a claim's SELECT take its rows and skip taken ones."""

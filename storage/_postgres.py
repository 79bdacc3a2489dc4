"""PostgreSQL through SQLAlchemy's asyncpg dialect, shared safely by several instances.

Every write transaction first takes one transaction-level advisory lock, so writes are
serialised across all instances exactly as SQLite's single writer serialises them within
one: each repository's read-then-write block sees no other write in between, whichever
instance runs it. Claims also take their rows `FOR UPDATE SKIP LOCKED`. Reads run outside
any transaction, each statement on its own snapshot, as on SQLite's reader connection.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.elements import TextClause

from ._database import Database, Row, SchemaError, Transaction, migrations, postgres_migrations

# Advisory lock keys (one 64-bit space per database): every write, and schema migration.
WRITE_LOCK = 0x41665477_00000001
MIGRATION_LOCK = 0x41665477_00000002

_SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg")


class DatabaseUrlError(SchemaError):
    """AFTERGLOW_DATABASE_URL is not a PostgreSQL URL this build can use."""


def postgres_url(raw: str) -> URL:
    """Return the SQLAlchemy URL (asyncpg driver) for a postgresql:// address."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise DatabaseUrlError("the database URL is not a URL") from None
    if url.drivername not in _SCHEMES:
        raise DatabaseUrlError(
            f"the database URL must start with postgresql://, not {url.drivername}://"
        )
    if not url.database:
        raise DatabaseUrlError("the database URL names no database")
    return url.set(drivername="postgresql+asyncpg")


def is_postgres_url(raw: str) -> bool:
    """Tell whether a database location is a PostgreSQL URL rather than a file path."""
    return raw.split("://", 1)[0] in _SCHEMES if "://" in raw else False


_PLACEHOLDER = re.compile(r"\?")


@lru_cache(maxsize=2048)
def _statement(sql: str) -> tuple[TextClause, int]:
    """Turn `?` placeholders into SQLAlchemy binds (:p0, :p1, ...); colons stay literal."""
    count = 0

    def bind(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f":p{count - 1}"

    escaped = sql.replace(":", r"\:")
    return text(_PLACEHOLDER.sub(bind, escaped)), count


def _binds(sql: str, params: Sequence[object]) -> tuple[TextClause, dict[str, object]]:
    statement, count = _statement(sql)
    if count != len(params):
        raise ValueError(f"statement has {count} placeholders, given {len(params)} values")
    return statement, {f"p{i}": value for i, value in enumerate(params)}


class _PgRow:
    """A row read by position or by column name, like sqlite3.Row."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: Mapping[str, int], values: Sequence[Any]) -> None:
        self._names = names
        self._values = values

    def __getitem__(self, key: int | str, /) -> Any:
        if isinstance(key, str):
            return self._values[self._names[key]]
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)


async def _run(conn: AsyncConnection, sql: str, params: Sequence[object]) -> list[Row]:
    statement, binds = _binds(sql, params)
    result = await conn.execute(statement, binds)
    if not result.returns_rows:
        return []
    names = {name: i for i, name in enumerate(result.keys())}
    return [_PgRow(names, tuple(values)) for values in result.fetchall()]


class _PgTransaction:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        statement, binds = _binds(sql, params)
        result = await self._conn.execute(statement, binds)
        return max(result.rowcount, 0)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> int:
        # One statement per row: asyncpg's executemany reports no row counts.
        changed = 0
        for params in rows:
            changed += await self.execute(sql, params)
        return changed

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return await _run(self._conn, sql, params)


class PostgresDatabase(Database):
    """A pool of connections to one PostgreSQL database."""

    dialect = "postgresql"

    def __init__(self, url: str | URL, *, pool_size: int = 5) -> None:
        self.url = postgres_url(url) if isinstance(url, str) else url
        self._pool_size = pool_size
        self._engine: AsyncEngine | None = None
        self._reads: AsyncEngine | None = None

    def __repr__(self) -> str:
        return f"PostgresDatabase({self.url.render_as_string(hide_password=True)!r})"

    async def open(self) -> None:
        engine = create_async_engine(
            self.url, pool_size=self._pool_size, max_overflow=self._pool_size, pool_pre_ping=True
        )
        try:
            await self._migrate(engine)
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = None
        self._reads = None

    async def _migrate(self, engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            # Instances starting together: one migrates, the others wait and find it done.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
            await conn.execute(
                text(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version BIGINT PRIMARY KEY, name TEXT NOT NULL,"
                    " applied_at TEXT NOT NULL"
                    r" DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24\:MI\:SS'))"
                )
            )
            current = int(
                (
                    await conn.execute(
                        text("SELECT coalesce(max(version), 0) FROM schema_migrations")
                    )
                ).scalar_one()
            )
            shared = migrations()
            if current > len(shared):
                raise SchemaError(
                    f"database schema version {current} is newer than this Afterglow "
                    f"(knows {len(shared)}); upgrade Afterglow"
                )
            baseline, later = postgres_migrations()
            if 0 < current < baseline.version:
                raise SchemaError(
                    f"database schema version {current} predates PostgreSQL's baseline"
                )
            raw = (await conn.get_raw_connection()).driver_connection
            if raw is None:
                raise SchemaError("no PostgreSQL connection to migrate with")
            if current == 0:
                await raw.execute(baseline.sql)
                for step in shared[: baseline.version]:
                    await conn.execute(
                        text("INSERT INTO schema_migrations (version, name) VALUES (:v, :n)"),
                        {"v": step.version, "n": step.name},
                    )
                current = baseline.version
            for step in later:
                if step.version <= current:
                    continue
                await raw.execute(step.sql)
                await conn.execute(
                    text("INSERT INTO schema_migrations (version, name) VALUES (:v, :n)"),
                    {"v": step.version, "n": step.name},
                )

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Transaction]:
        """Run a block as one transaction, after every other instance's write has ended."""
        async with self._require().begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK})
            yield _PgTransaction(conn)

    async def write_one(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        async with self.write() as tx:
            return await tx.fetch_all(sql, params)

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        reads = self._reads
        if reads is None:
            raise RuntimeError("database is not open")
        async with reads.connect() as conn:
            return await _run(conn, sql, params)

    def skip_locked(self, alias: str) -> str:
        return f" FOR UPDATE OF {alias} SKIP LOCKED"

    def _require(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("database is not open")
        return self._engine

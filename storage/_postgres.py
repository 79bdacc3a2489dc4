"""PostgreSQL through SQLAlchemy's asyncpg dialect, shared safely by several instances.

Every write transaction first takes one transaction-level advisory lock, so writes are
serialised across all instances exactly as SQLite's single writer serialises them within
one: each repository's read-then-write block sees no other write in between, whichever
instance runs it. Claims also take their rows `FOR UPDATE SKIP LOCKED`. Reads run outside
any transaction, each statement on its own snapshot, as on SQLite's reader connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.elements import TextClause

from bot.domain.errors import AfterglowError

from ._database import (
    Database,
    Row,
    SchemaError,
    Transaction,
    migrations,
    postgres_migrations,
)

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# Advisory lock keys (one 64-bit space per database): every write, schema migration, and
# the single-instance work (long polling, start-up recovery, periodic maintenance).
WRITE_LOCK = 0x41665477_00000001
MIGRATION_LOCK = 0x41665477_00000002
LEADER_LOCK = 0x41665477_00000003
# Each running instance holds INSTANCE_LOCKS + its id (from the instances table) for as long
# as it lives; pg_locks shows the id as the lock's objid (its low 32 bits).
INSTANCE_LOCKS = 0x41665478_00000000


# The instance liveness locks held now in this database. A one-key advisory lock shows in
# pg_locks as classid (its high 32 bits), objid (its low 32 bits) and objsubid 1; it ends
# with its session, a killed process's too.
HELD_INSTANCE_LOCKS = (
    " FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
    f" AND classid::bigint = {INSTANCE_LOCKS >> 32} AND database ="
    " (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def instance_lock_key(instance_id: int) -> int:
    """Return the advisory lock key an instance holds while it lives."""
    if not 0 < instance_id < 2**32:
        raise ValueError("instance ids are 32-bit")
    return INSTANCE_LOCKS + instance_id


_SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg")


class DatabaseUrlError(AfterglowError):
    """AFTERGLOW_DATABASE_URL is not a PostgreSQL URL this build can use."""


def postgres_url(raw: str) -> URL:
    """Return the SQLAlchemy URL (asyncpg driver) for a postgresql:// address."""
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        # Neither message is repeated: both can quote the URL, password and all.
        raise DatabaseUrlError(
            "is not a URL of the form postgresql://user:password@host:port/database"
        ) from None
    if url.drivername not in _SCHEMES:
        raise DatabaseUrlError(f"must start with postgresql://, not {url.drivername}://")
    if not url.database:
        raise DatabaseUrlError("names no database (postgresql://host/DATABASE)")
    return url.set(drivername="postgresql+asyncpg")


def is_postgres_url(raw: str) -> bool:
    """Tell whether a database location is a PostgreSQL URL rather than a file path."""
    return raw.split("://", 1)[0] in _SCHEMES if "://" in raw else False


_PLACEHOLDER = re.compile(r"\?")
# How long close() lets work in flight finish before ending its connections.
_CLOSE_GRACE = 5.0


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


async def _finished(work: Awaitable[_T]) -> _T:
    """Await driver work; if the caller is cancelled meanwhile, let the work finish first.

    A statement cut off mid-exchange leaves its connection neither usable nor closed (it
    lingers until the garbage collector finds it), so, as SQLite's writer does, the work
    runs to its end and only then does the cancellation go on.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await task
        raise


async def _run(conn: AsyncConnection, sql: str, params: Sequence[object]) -> list[Row]:
    statement, binds = _binds(sql, params)
    result = await _finished(conn.execute(statement, binds))
    if not result.returns_rows:
        return []
    names = {name: i for i, name in enumerate(result.keys())}
    return [_PgRow(names, tuple(values)) for values in result.fetchall()]


class _PgTransaction:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        statement, binds = _binds(sql, params)
        result = await _finished(self._conn.execute(statement, binds))
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
        # Connections checked out now, and whether none is: close() waits for the work in
        # flight (a background delivery, say) and ends what a vanished task left behind.
        self._out: set[AsyncConnection] = set()
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def __repr__(self) -> str:
        return f"PostgresDatabase({self.url.render_as_string(hide_password=True)!r})"

    async def open(self) -> None:
        engine = create_async_engine(
            self.url,
            pool_size=self._pool_size,
            max_overflow=self._pool_size,
            pool_pre_ping=True,
            # asyncpg prepares every statement, and after five runs PostgreSQL may switch
            # a statement to a generic plan, chosen without the values bound. For the
            # dispatcher's "anything due?" that plan scanned every check-in (260 ms on
            # 3.5 million rows instead of 0.9 ms, benchmarks/bench_postgres.py): plan each
            # run for its values, as SQLite does.
            connect_args={"server_settings": {"plan_cache_mode": "force_custom_plan"}},
        )
        try:
            await self._migrate(engine)
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def close(self) -> None:
        # dispose() closes only the pool's idle connections. Work in flight gets a moment
        # to finish, and a connection still held after it (by a task that will never
        # resume) is ended here rather than left to the garbage collector. New work is
        # refused from now on.
        engine, self._engine, self._reads = self._engine, None, None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout=_CLOSE_GRACE)
        for conn in list(self._out):
            with contextlib.suppress(Exception):
                await conn.invalidate()
        self._out.clear()
        if engine is not None:
            await engine.dispose()

    async def _checkout(self, engine: AsyncEngine) -> AsyncConnection:
        self._busy += 1
        self._idle.clear()
        conn = engine.connect()
        try:
            await _finished(conn.start())
        except BaseException:
            self._done()
            raise
        self._out.add(conn)
        return conn

    async def _checkin(self, conn: AsyncConnection) -> None:
        try:
            await _finished(conn.close())
        finally:
            self._out.discard(conn)
            self._done()

    def _done(self) -> None:
        self._busy -= 1
        if self._busy == 0:
            self._idle.set()

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
        conn = await self._checkout(self._require())
        try:
            transaction = conn.begin()
            await _finished(transaction.start())
            try:
                await _finished(
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK})
                )
                yield _PgTransaction(conn)
            except BaseException:
                await _finished(transaction.rollback())
                raise
            await _finished(transaction.commit())
        finally:
            await self._checkin(conn)

    async def write_one(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return await _finished(self._write_one(sql, params))

    async def _write_one(self, sql: str, params: Sequence[object]) -> list[Row]:
        async with self.write() as tx:
            return await tx.fetch_all(sql, params)

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return await _finished(self._read(sql, params))

    async def _read(self, sql: str, params: Sequence[object]) -> list[Row]:
        reads = self._reads
        if reads is None:
            raise RuntimeError("database is not open")
        conn = await self._checkout(reads)
        try:
            return await _run(conn, sql, params)
        finally:
            await self._checkin(conn)

    async def live_instances(self) -> frozenset[int] | None:
        rows = await self.fetch_all("SELECT objid::bigint AS id" + HELD_INSTANCE_LOCKS)
        return frozenset(int(row["id"]) for row in rows)

    def skip_locked(self, alias: str) -> str:
        return f" FOR UPDATE OF {alias} SKIP LOCKED"

    def _require(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("database is not open")
        return self._engine

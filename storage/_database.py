"""The SQLite connection pair, pragmas, migrations and the serialised writer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from types import TracebackType

import aiosqlite

from bot.domain.errors import AfterglowError

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = FULL",
    "PRAGMA busy_timeout = 5000",
)


class SchemaError(AfterglowError):
    """The database was written by a newer Afterglow or its migrations are inconsistent."""


def _migrations() -> list[tuple[int, str, str]]:
    """Return the shipped migrations as (version, name, sql), in order."""
    found: list[tuple[int, str, str]] = []
    folder = resources.files("storage").joinpath("migrations")
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match is None:
            continue
        found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise SchemaError(f"migrations are not numbered 1..n without gaps: {versions}")
    return found


def latest_schema_version() -> int:
    """Return the schema version the shipped migrations lead to."""
    return len(_migrations())


class Database:
    """One writer connection behind a lock and one reader connection, both in WAL mode.

    Every call into aiosqlite is a hop to its thread, so statements are kept few: reads are
    single statements that fetch in the same hop, and writes use RETURNING where they can.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    async def open(self) -> None:
        """Open both connections and bring the schema up to date."""
        writer = await self._connect()
        try:
            await self._migrate(writer)
            self._reader = await self._connect()
        except BaseException:
            await writer.close()
            raise
        self._writer = writer

    async def close(self) -> None:
        """Close both connections; safe to call twice."""
        async with self._write_lock:
            for conn in (self._reader, self._writer):
                if conn is not None:
                    await conn.close()
            self._reader = None
            self._writer = None

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

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        for pragma in _PRAGMAS:
            await conn.execute(pragma)
        return conn

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL DEFAULT (datetime('now')))"
        )
        async with conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations") as cur:
            row = await cur.fetchone()
        current = int(row[0]) if row is not None else 0
        migrations = _migrations()
        if current > len(migrations):
            raise SchemaError(
                f"database schema version {current} is newer than this Afterglow "
                f"(knows {len(migrations)}); upgrade Afterglow"
            )
        for version, name, sql in migrations[current:]:
            # executescript() cannot take parameters; the name matched [a-z0-9_]+ above.
            try:
                await conn.executescript(
                    f"BEGIN IMMEDIATE;\n{sql}\n"
                    "INSERT INTO schema_migrations (version, name)"
                    f" VALUES ({version}, '{name}');\n"
                    "COMMIT;"
                )
            except BaseException:
                if conn.in_transaction:
                    await conn.execute("ROLLBACK")
                raise

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run a block as one serialised write transaction (BEGIN IMMEDIATE ... COMMIT)."""
        async with self._write_lock:
            conn = self._require(self._writer)
            await _heal(conn)
            try:
                await _to_the_end(conn.execute("BEGIN IMMEDIATE"))
            except BaseException:
                await _rollback(conn)
                raise
            try:
                yield conn
            except BaseException:
                await _rollback(conn)
                raise
            try:
                await _to_the_end(conn.execute("COMMIT"))
            except BaseException:
                # A failed COMMIT leaves the transaction open: end it, so nothing after it
                # runs inside a transaction that will never be committed.
                await _rollback(conn)
                raise

    async def backup(self, target: Path) -> None:
        """Write a consistent copy of the live database to target (SQLite online backup)."""
        async with aiosqlite.connect(target) as destination:
            await self._require(self._reader).backup(destination)

    async def integrity_check(self) -> str:
        """Return SQLite's integrity check verdict ('ok' when sound)."""
        row = await self.fetch_one("PRAGMA integrity_check")
        return "no answer" if row is None else str(row[0])

    async def schema_version(self) -> int:
        """Return the highest applied migration."""
        row = await self.fetch_one("SELECT coalesce(max(version), 0) FROM schema_migrations")
        return 0 if row is None else int(row[0])

    async def write_one(self, sql: str, params: Sequence[object] = ()) -> list[aiosqlite.Row]:
        """Run one write statement atomically on the writer, returning RETURNING rows.

        A single statement is its own transaction; the writer lock serialises it with every
        other write, so it never meets "database is locked".
        """
        async with self._write_lock:
            conn = self._require(self._writer)
            await _heal(conn)
            rows = await conn.execute_fetchall(sql, params)
        return list(rows)

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[aiosqlite.Row]:
        """Run one read-only statement on the reader connection (its own snapshot)."""
        rows = await self._require(self._reader).execute_fetchall(sql, params)
        return list(rows)

    async def fetch_one(self, sql: str, params: Sequence[object] = ()) -> aiosqlite.Row | None:
        """Run one read-only statement and return its first row, if any."""
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    @staticmethod
    def _require(conn: aiosqlite.Connection | None) -> aiosqlite.Connection:
        if conn is None:
            raise RuntimeError("database is not open")
        return conn


async def _to_the_end(statement: Awaitable[object]) -> None:
    """Await a transaction-control statement; if cancelled meanwhile, let it finish first.

    The statement runs in aiosqlite's thread whatever happens to the awaiting task, so
    giving up on it early would release the writer lock with the connection's transaction
    state unknown.
    """
    task = asyncio.ensure_future(statement)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await task
        raise


async def _heal(conn: aiosqlite.Connection) -> None:
    """Roll back a transaction some interrupted write left open, before the next write."""
    if conn.in_transaction:
        log.error("database.rollback_leftover_transaction")
        await _rollback(conn)


async def _rollback(conn: aiosqlite.Connection) -> None:
    """Roll back if a transaction is open; one that already ended is not an error.

    Statements run in order in aiosqlite's thread, so a ROLLBACK still queued by an
    interrupted write may end the transaction just before this one runs; and SQLite itself
    rolls back on some errors (a full disk). Neither must hide the error being handled.
    """
    if not conn.in_transaction:
        return
    try:
        await _to_the_end(conn.execute("ROLLBACK"))
    except sqlite3.OperationalError:
        if conn.in_transaction:
            raise

"""SQLite through aiosqlite: a writer connection behind a lock and a reader, both in WAL mode."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from ._database import Database, Row, SchemaError, Transaction, migrations

log = logging.getLogger(__name__)

_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = FULL",
    "PRAGMA busy_timeout = 5000",
)


class _SqliteTransaction:
    """The writer connection, inside BEGIN IMMEDIATE ... COMMIT."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        cursor = await self._conn.execute(sql, params)
        return cursor.rowcount

    async def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> int:
        cursor = await self._conn.executemany(sql, rows)
        return cursor.rowcount

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        return list(await self._conn.execute_fetchall(sql, params))


class SqliteDatabase(Database):
    """One writer connection behind a lock and one reader connection, both in WAL mode.

    Every call into aiosqlite is a hop to its thread, so statements are kept few: reads are
    single statements that fetch in the same hop, and writes use RETURNING where they can.
    """

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    async def open(self) -> None:
        writer = await self._connect()
        try:
            await self._migrate(writer)
            self._reader = await self._connect()
        except BaseException:
            await writer.close()
            raise
        self._writer = writer

    async def close(self) -> None:
        async with self._write_lock:
            for conn in (self._reader, self._writer):
                if conn is not None:
                    await conn.close()
            self._reader = None
            self._writer = None

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
        steps = migrations()
        if current > len(steps):
            raise SchemaError(
                f"database schema version {current} is newer than this Afterglow "
                f"(knows {len(steps)}); upgrade Afterglow"
            )
        for step in steps[current:]:
            # executescript() cannot take parameters; the name matched [a-z0-9_]+.
            try:
                await conn.executescript(
                    f"BEGIN IMMEDIATE;\n{step.sql}\n"
                    "INSERT INTO schema_migrations (version, name)"
                    f" VALUES ({step.version}, '{step.name}');\n"
                    "COMMIT;"
                )
            except BaseException:
                if conn.in_transaction:
                    await conn.execute("ROLLBACK")
                raise

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Transaction]:
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
                yield _SqliteTransaction(conn)
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

    async def write_one(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run one write statement atomically on the writer, returning RETURNING rows.

        A single statement is its own transaction; the writer lock serialises it with every
        other write, so it never meets "database is locked".
        """
        async with self._write_lock:
            conn = self._require(self._writer)
            await _heal(conn)
            rows = await conn.execute_fetchall(sql, params)
        return list(rows)

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run one read-only statement on the reader connection (its own snapshot)."""
        rows = await self._require(self._reader).execute_fetchall(sql, params)
        return list(rows)

    async def live_instances(self) -> frozenset[int] | None:
        # One process at a time (the instance file lock): only the caller is alive.
        return None

    def skip_locked(self, alias: str) -> str:
        # One writer at a time: a claim's rows cannot be taken by anyone else meanwhile.
        del alias
        return ""

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

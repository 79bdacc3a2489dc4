"""Throwaway PostgreSQL databases for tests, on the cluster `.ci/postgres` starts.

Tests share one database, migrated once per run and emptied before each test (emptying is
far cheaper than creating and migrating); a test that needs a database of its own asks.
Without AFTERGLOW_TEST_POSTGRES_URL the PostgreSQL tests skip, unless
AFTERGLOW_REQUIRE_POSTGRES=1 (as in CI), when they fail."""

from __future__ import annotations

import asyncio
import atexit
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from storage import PostgresDatabase

# The backends a test parametrised with `backend` runs on.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

# One per test process, so runs side by side on one cluster never meet.
_SHARED = f"afterglow_tests_{os.getpid()}"
_shared_ready = False
# Every table the migrations make, emptied before each test that shares the database.
_EMPTY_ALL = """
DO $$
DECLARE names text;
BEGIN
    SELECT string_agg(format('%I', tablename), ', ') INTO names
    FROM pg_tables WHERE schemaname = 'public' AND tablename != 'schema_migrations';
    EXECUTE 'TRUNCATE ' || names || ' RESTART IDENTITY CASCADE';
END $$;
"""


def admin_url() -> str:
    """Return the cluster's admin URL, or skip (fail, where PostgreSQL is required)."""
    url = os.environ.get("AFTERGLOW_TEST_POSTGRES_URL", "")
    if url:
        return url
    if os.environ.get("AFTERGLOW_REQUIRE_POSTGRES") == "1":
        pytest.fail("AFTERGLOW_REQUIRE_POSTGRES=1 but AFTERGLOW_TEST_POSTGRES_URL is not set")
    pytest.skip("no PostgreSQL: set AFTERGLOW_TEST_POSTGRES_URL (`source .ci/postgres`)")


def _url_of(database: str) -> str:
    return make_url(admin_url()).set(database=database).render_as_string(hide_password=False)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(admin_url()))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _shared_database() -> str:
    """Return the URL of the run's shared database, migrated once and emptied each time."""
    global _shared_ready
    url = _url_of(_SHARED)
    if not _shared_ready:
        await _admin(f"DROP DATABASE IF EXISTS {_SHARED} WITH (FORCE)")
        await _admin(f"CREATE DATABASE {_SHARED}")
        atexit.register(_drop_shared)
        db = PostgresDatabase(url)
        await db.open()
        await db.close()
        _shared_ready = True
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        await conn.execute(_EMPTY_ALL)
    finally:
        await conn.close()
    return url


def _drop_shared() -> None:
    """At the end of the run, drop the shared database (its own event loop: pytest's is gone)."""
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {_SHARED} WITH (FORCE)"))


@asynccontextmanager
async def fresh_database(*, migrated: bool = True) -> AsyncIterator[str]:
    """A database for one test: the shared one emptied, or (not migrated) one of its own.

    Tests run one at a time, so the shared database is never used by two at once.
    """
    admin_url()
    if migrated:
        yield await _shared_database()
        return
    name = f"t_{uuid.uuid4().hex[:16]}"
    await _admin(f"CREATE DATABASE {name}")
    try:
        yield _url_of(name)
    finally:
        await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

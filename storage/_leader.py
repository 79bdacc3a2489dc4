"""The leader lock: which of several instances on one PostgreSQL does the work."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from ._postgres import LEADER_LOCK, postgres_url

log = logging.getLogger(__name__)
_RELEASE_WITHIN = 5.0


class LeaderLock:
    """A session advisory lock on a connection of its own: held while this process lives.

    PostgreSQL releases it when the holder's connection ends, a killed process included,
    so a standby waiting in `acquire` takes over within one poll. `lost` is set if the
    connection drops while holding it: the holder must stop its single-instance work.
    """

    def __init__(self, url: str | URL, key: int = LEADER_LOCK, *, poll: float = 1.0) -> None:
        self._url = postgres_url(url) if isinstance(url, str) else url
        self._key = key
        self._poll = poll
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        self._watch: asyncio.Task[None] | None = None
        self.lost = asyncio.Event()

    @property
    def held(self) -> bool:
        """Whether this process holds the lock now."""
        return self._conn is not None and not self.lost.is_set()

    async def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits."""
        return await self._take(wait=False)

    async def acquire(self) -> None:
        """Wait until the lock is ours, asking again every `poll` on one connection."""
        await self._take(wait=True)

    async def _take(self, *, wait: bool) -> bool:
        if self.held:
            return True
        await self.release()
        engine = create_async_engine(self._url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            conn = await engine.connect()
            while True:
                found = await conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}
                )
                if found.scalar_one():
                    break
                if not wait:
                    await conn.close()
                    await engine.dispose()
                    return False
                await asyncio.sleep(self._poll)
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(engine.dispose(), timeout=_RELEASE_WITHIN)
            raise
        self._engine, self._conn = engine, conn
        self.lost.clear()
        self._watch = asyncio.create_task(self._keep_watch(conn))
        return True

    async def _keep_watch(self, conn: AsyncConnection) -> None:
        while True:
            await asyncio.sleep(self._poll)
            try:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=self._poll * 5)
            except (OSError, SQLAlchemyError, TimeoutError):
                log.error("leader.lock_lost")
                self.lost.set()
                return

    async def release(self) -> None:
        """Give the lock back (closing its connection); safe to call twice."""
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(watch, timeout=_RELEASE_WITHIN)
        conn, self._conn = self._conn, None
        engine, self._engine = self._engine, None
        # Each step is bounded: a connection the server already dropped must not hold up a
        # shutdown. Ending the session (invalidate) ends the lock with it.
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.invalidate(), timeout=_RELEASE_WITHIN)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=_RELEASE_WITHIN)
        if engine is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(engine.dispose(), timeout=_RELEASE_WITHIN)

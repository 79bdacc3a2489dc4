"""Which instance this process is among those sharing the database, and whether it leads.

- SQLite: one process at a time (a file lock beside the database); it is the only
  instance and it leads.
- PostgreSQL with long polling: Telegram allows one getUpdates at a time, so one instance
  leads and does everything; another waits as a standby before opening the database and
  takes over when the leader's lock ends.
- PostgreSQL with a webhook: every instance serves the updates it receives and runs the
  dispatcher (every queue is claimed row by row, see storage/). The leader lock decides
  only who runs the periodic maintenance (questionnaire planning, silence checks); an
  instance that does not hold it keeps trying and takes it over when the holder dies.

Each instance registers in the database and, on PostgreSQL, holds a liveness lock of its
own for as long as it lives: the others tell by it whose unconfirmed sends and unhandled
updates were cut short by a death. A process whose liveness or leader lock drops stops
itself (as on SIGTERM); whatever supervises it starts it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable

from bot.domain.clock import Clock
from bot.runtime.instance import InstanceLock
from bot.runtime.settings import Settings
from storage import LeaderLock, Storage, instance_lock_key

log = logging.getLogger(__name__)

OnLead = Callable[[], Awaitable[None]]
# How long an instance waiting for the lead waits after the database failed it.
LEAD_RETRY = 5.0


class InstanceLockTakenError(RuntimeError):
    """The liveness lock of a freshly registered instance was held already."""


class Roles:
    """This process's instance id, its locks, and whether it leads now."""

    def __init__(self, settings: Settings, *, every_instance_serves: bool) -> None:
        self._url = settings.database_url
        self._file_lock = None if self._url else InstanceLock(settings.db_path)
        self._leader = LeaderLock(self._url) if self._url else None
        self._serve_all = every_instance_serves and self._url is not None
        self._liveness: LeaderLock | None = None
        self._instance: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def instance(self) -> int:
        """Return this process's instance id (after `register`)."""
        if self._instance is None:
            raise RuntimeError("the instance is not registered yet")
        return self._instance

    @property
    def leading(self) -> bool:
        """Tell whether this process runs the single-instance work now."""
        return self._leader is None or self._leader.held

    async def before_open(self) -> None:
        """Take the file lock (SQLite) or, when only the leader may serve, wait to lead."""
        if self._file_lock is not None:
            self._file_lock.acquire()
            return
        assert self._leader is not None
        if self._serve_all:
            return
        if not await self._leader.try_acquire():
            log.info("bot.standby")
            await self._leader.acquire()
        log.info("bot.leading")
        self._stop_if(self._leader.lost, "leader")

    async def register(self, storage: Storage, clock: Clock) -> int:
        """Register this instance; on PostgreSQL take its liveness lock."""
        self._instance = await storage.instances.register(
            now=clock.now(), pid=os.getpid(), host=socket.gethostname()
        )
        if self._url is not None:
            liveness = LeaderLock(self._url, instance_lock_key(self._instance))
            if not await liveness.try_acquire():
                raise InstanceLockTakenError(f"instance {self._instance} is held elsewhere")
            self._liveness = liveness
            self._stop_if(liveness.lost, "liveness")
        log.info("bot.instance id=%d", self._instance)
        return self._instance

    def seek_the_lead(self, on_lead: OnLead) -> None:
        """With a webhook: take the leader lock when it is free, in the background.

        `on_lead` runs once this instance leads. Elsewhere the lock was taken (or not
        needed) in `before_open`, and this does nothing.
        """
        if self._serve_all:
            self._spawn(self._lead_when_free(on_lead))

    async def _lead_when_free(self, on_lead: OnLead) -> None:
        assert self._leader is not None
        if not await self._leader.try_acquire():
            log.info("bot.serving_not_leading")
            # Waiting for the lead must outlast a database outage: if it gave up, this
            # instance would never take over the maintenance (the silence checks) when
            # the leader dies.
            while True:
                try:
                    await self._leader.acquire()
                    break
                except Exception as err:
                    log.warning("bot.lead_wait_failed error=%s", type(err).__name__)
                    await asyncio.sleep(LEAD_RETRY)
        log.info("bot.leading")
        self._stop_if(self._leader.lost, "leader")
        try:
            await on_lead()
        except Exception:
            log.exception("bot.on_lead_failed")

    def _stop_if(self, lost: asyncio.Event, which: str) -> None:
        async def watch() -> None:
            await lost.wait()
            # Stop as if told to (SIGTERM): polling and the webhook server stop gracefully.
            log.error("bot.lock_lost lock=%s", which)
            signal.raise_signal(signal.SIGTERM)

        self._spawn(watch())

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            log.error("bot.roles_task_failed error=%s", type(error).__name__)

    async def stop(self) -> None:
        """Stop watching the locks and bidding for the lead (before the database closes)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def release(self) -> None:
        """Stop, then give every lock back; safe to call twice."""
        await self.stop()
        if self._leader is not None:
            await self._leader.release()
        if self._liveness is not None:
            await self._liveness.release()
        if self._file_lock is not None:
            self._file_lock.release()

"""The urgent worker: retries crisis replies, direct staff messages and URGENT alerts,
and escalates the URGENT alerts nobody acknowledged in time.

It runs beside the dispatcher for the life of the bot and wakes within a second of a
message being kept for retrying, so nothing urgent waits for the dispatcher's 30-second
pass or behind the check-ins it sends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

from bot.services.container import Services

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
STOP_WITHIN = 5.0
# How often the worker runs its watch (the runtime's look at the other instances): a new
# instance's share of the flood limits and a dead one's adoption follow within a second.
WATCH_EVERY = 1.0

Watch = Callable[[], Awaitable[None]]


class UrgentWorker:
    """One background task, started with the bot and stopped before its database closes."""

    def __init__(self, *, poll_seconds: float = POLL_SECONDS, watch: Watch | None = None) -> None:
        self._poll = poll_seconds
        self._watch = watch
        self._task: asyncio.Task[None] | None = None
        self._svc: Services | None = None
        self._stopping = asyncio.Event()

    def start(self, svc: Services) -> None:
        """Start retrying what is due."""
        self._stopping.clear()
        self._svc = svc
        self._task = asyncio.get_running_loop().create_task(self._run(svc))

    async def stop(self) -> None:
        """Let the pass under way finish (for a few seconds at most), then stop."""
        self._stopping.set()
        if self._task is None:
            return
        task, self._task = self._task, None
        if self._svc is not None:
            self._svc.urgent.wake()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=STOP_WITHIN)
        except TimeoutError:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _run(self, svc: Services) -> None:
        loop = asyncio.get_running_loop()
        watched = loop.time() - WATCH_EVERY
        while not self._stopping.is_set():
            if self._watch is not None and loop.time() - watched >= WATCH_EVERY:
                watched = loop.time()
                try:
                    await self._watch()
                except Exception:
                    log.exception("urgent.watch_failed")
            try:
                await svc.urgent.deliver_due()
                await svc.safety.flush_digest()
                await svc.alerts.deliver_urgent()
                await svc.escalation.escalate_due()
                await svc.questions.tend()
            except Exception:
                log.exception("urgent.pass_failed")
            await svc.urgent.wait(self._poll)

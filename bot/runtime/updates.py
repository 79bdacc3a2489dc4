"""How updates are processed: concurrently across chats, in arrival order within a chat.

An update whose words looked like a crisis at intake does not wait for its chat's turn:
it is handled at once, on slots of its own. Every update is counted in and out of the inbox.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable
from typing import Any, Protocol

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

URGENT_SLOTS = 16


class UpdateHooks(Protocol):
    """What the processor asks the intake about each update."""

    def is_urgent(self, update_id: int) -> bool:
        """Tell whether the update jumps its chat's queue."""
        ...

    async def begin(self, update_id: int) -> bool:
        """Tell whether to handle the update now (counting the attempt)."""
        ...

    async def done(self, update_id: int) -> None:
        """Record that the update's handlers have run."""
        ...


class NoHooks:
    """Hooks for updates that do not come through an inbox."""

    def is_urgent(self, update_id: int) -> bool:
        """Nothing is urgent."""
        return False

    async def begin(self, update_id: int) -> bool:
        """Everything is handled."""
        return True

    async def done(self, update_id: int) -> None:
        """Nothing to record."""


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Processes updates concurrently across chats but in arrival order within a chat."""

    def __init__(self, max_concurrent_updates: int, hooks: UpdateHooks | None = None) -> None:
        super().__init__(max_concurrent_updates * 64)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._urgent_slots = asyncio.Semaphore(URGENT_SLOTS)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}
        self._hooks: UpdateHooks = hooks or NoHooks()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the chat's turn first, then for a free slot, then run the handlers.

        Taking the chat lock before a slot means one busy chat queues behind itself instead
        of filling every slot and holding up everyone else. The base class's own limit is set
        high so that it never decides the order. An urgent update skips both queues.
        """
        update_id = update.update_id if isinstance(update, Update) else None
        if update_id is not None and self._hooks.is_urgent(update_id):
            async with self._urgent_slots:
                await self._run(update_id, coroutine)
            return
        key = _chat_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await self._run(update_id, coroutine)
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                del self._locks[key]

    async def _run(self, update_id: int | None, coroutine: Awaitable[Any]) -> None:
        if update_id is not None and not await self._begin(update_id):
            if inspect.iscoroutine(coroutine):
                coroutine.close()
            return
        try:
            await coroutine
        finally:
            if update_id is not None:
                try:
                    await self._hooks.done(update_id)
                except Exception:
                    # It stays pending and is handled again at start-up (handlers are
                    # idempotent per update); never a reason to stop processing.
                    log.exception("intake.done_failed update=%d", update_id)

    async def _begin(self, update_id: int) -> bool:
        try:
            return await self._hooks.begin(update_id)
        except Exception:
            # The inbox cannot be read: handling it anyway beats losing a crisis message.
            log.exception("intake.begin_failed update=%d", update_id)
            return True

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _chat_key(update: object) -> int:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return 0

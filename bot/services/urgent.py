"""The urgent outbox: what must reach a person now is sent at once and retried until it does.

Crisis replies to patients, and staff messages that could not be kept as alerts, are sent
at once through the Bot that bypasses the flood queue. One that does not go out is kept
(in the database, or in memory while the database is failing) and retried, most urgent
first, by the runtime's urgent worker within seconds, until Telegram takes it. Nothing here
waits for the dispatcher's pass.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.backoff import backoff
from bot.domain.clock import Clock
from bot.domain.codes import DeliveryProblem, Urgency
from bot.domain.delivery import Delivered, RateLimited, SendOutcome, problem_of
from bot.services.ports import UrgentMessenger
from storage import Storage

log = logging.getLogger(__name__)

RETRY_FIRST = timedelta(seconds=5)
RETRY_MAX = timedelta(minutes=1)
KEEP_SENT = timedelta(days=1)
# While the database fails, at most this many wait in memory (the least urgent go first).
MEMORY_MAX = 500
# At most this many stored messages are tried in one pass; the rest in the next.
STORED_PER_PASS = 20

StaffChat = Callable[[], Awaitable[int]]


@dataclass(slots=True)
class _Held:
    """A message kept in memory because the database could not take it."""

    key: int
    chat_id: int | None
    text: str
    urgency: Urgency
    attempts: int
    next_attempt: datetime


class UrgentOutbox:
    """Sends urgent messages now, keeps the ones that fail, and retries them until delivered."""

    def __init__(
        self, storage: Storage, clock: Clock, messenger: UrgentMessenger, *, staff_chat: StaffChat
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._messenger = messenger
        self._staff_chat = staff_chat
        self._held: dict[int, _Held] = {}
        self._keys = itertools.count(1)
        self._wake = asyncio.Event()
        self._delivering = asyncio.Lock()

    async def send(self, chat_id: int | None, text: str, urgency: Urgency) -> bool:
        """Send now (to the staff chat when `chat_id` is None); keep it for retries if not."""
        outcome = await self._attempt(chat_id, text)
        if isinstance(outcome, Delivered):
            return True
        retry_at = self._clock.now() + _wait(outcome, 1)
        try:
            await self._storage.outbox.add(
                chat_id=chat_id,
                text=text,
                urgency=urgency,
                now=self._clock.now(),
                retry_at=retry_at,
            )
        except Exception:
            log.exception("urgent.store_failed urgency=%s", urgency.name)
            self._hold(_Held(next(self._keys), chat_id, text, urgency, 1, retry_at))
        log.warning("urgent.kept urgency=%s problem=%s", urgency.name, problem_of(outcome))
        self._wake.set()
        return False

    async def deliver_due(self) -> int:
        """Retry what is due, most urgent first; return how many went out."""
        async with self._delivering:
            sent = await self._deliver_held()
            try:
                sent += await self._deliver_stored()
            except Exception:
                log.exception("urgent.read_failed")
            return sent

    async def wait(self, seconds: float) -> None:
        """Sleep until a message is kept for retrying, or at most `seconds`."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    def wake(self) -> None:
        """End a wait early (at shutdown)."""
        self._wake.set()

    async def purge(self) -> int:
        """Delete messages sent more than a day ago."""
        return await self._storage.outbox.purge(sent_before=self._clock.now() - KEEP_SENT)

    @property
    def held_in_memory(self) -> int:
        """Return how many messages wait in memory (the database failed when they were kept)."""
        return len(self._held)

    async def _attempt(self, chat_id: int | None, text: str) -> SendOutcome:
        if chat_id is None:
            chat_id = await self._staff_chat()
        return await self._messenger.send_now(chat_id, text)

    def _hold(self, item: _Held) -> None:
        self._held[item.key] = item
        while len(self._held) > MEMORY_MAX:
            dropped = max(self._held.values(), key=lambda held: (held.urgency, -held.key))
            del self._held[dropped.key]
            log.error("urgent.dropped urgency=%s reason=too_many_in_memory", dropped.urgency.name)

    async def _deliver_held(self) -> int:
        now = self._clock.now()
        due = sorted(
            (item for item in self._held.values() if item.next_attempt <= now),
            key=lambda item: (item.urgency, item.key),
        )
        sent = 0
        for item in due:
            outcome = await self._attempt(item.chat_id, item.text)
            if isinstance(outcome, Delivered):
                self._held.pop(item.key, None)
                sent += 1
            else:
                item.attempts += 1
                item.next_attempt = self._clock.now() + _wait(outcome, item.attempts)
        return sent

    async def _deliver_stored(self) -> int:
        """Send the stored messages that are due, each claimed just before its send.

        One at a time, so that a claim's lease covers one send and no other instance sends
        the message meanwhile. A message is never lost: one whose send a crash cut short is
        due again when the lease ends and is sent again (at least once).
        """
        sent = 0
        for _ in range(STORED_PER_PASS):
            claimed = await self._storage.outbox.claim_due(self._clock.now(), limit=1)
            if not claimed:
                break
            message = claimed[0]
            try:
                outcome = await self._attempt(message.chat_id, message.text)
            except Exception:
                # Not Telegram's answer: the claim must not hold the message for a lease.
                with suppress(Exception):
                    await self._storage.outbox.retry(
                        message.id,
                        at=self._clock.now() + RETRY_FIRST,
                        problem=DeliveryProblem.TELEGRAM_ERROR,
                    )
                raise
            if isinstance(outcome, Delivered):
                await self._storage.outbox.sent(message.id, now=self._clock.now())
                sent += 1
                continue
            await self._storage.outbox.retry(
                message.id,
                at=self._clock.now() + _wait(outcome, message.attempts + 1),
                problem=problem_of(outcome) or DeliveryProblem.TELEGRAM_ERROR,
            )
        if sent:
            log.info("urgent.delivered count=%d", sent)
        return sent


def _wait(outcome: SendOutcome, attempts: int) -> timedelta:
    if isinstance(outcome, RateLimited):
        return max(outcome.retry_after, RETRY_FIRST)
    return backoff(attempts, first=RETRY_FIRST, ceiling=RETRY_MAX)

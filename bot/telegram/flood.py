"""The flood limiter every request of the flood-limited Bot goes through.

Requests are spaced evenly under Telegram's overall limit, messages to a group at most 20
in any minute (Telegram's limit there), and a 429 holds everything for the time Telegram
asks, then retries. Spacing alone is not enough on a loaded host: a process that stalls
past several slots wakes with all of them due at once, and that bunch lands in one of
Telegram's one-second windows beside its own share. So each request also passes a gate
that counts the requests that really went out in the last second, by the clock at the
moment of sending, and lets at most the whole part of the rate through.

Even that counts by this process's clock, and Telegram counts by its own: a request
delayed on its way (a starved host, a slow network) can land in the same Telegram second as
later ones. The last guard counts what Telegram may see: a request occupies its place from
the moment it starts until one second after its answer came back. Telegram received it
somewhere in between, so if at most `limit` are counted whenever one starts, no second of
Telegram's ever holds more than `limit` of them, whatever the delays. The limit is Telegram's
own 30 a second (or the configured rate, where paid broadcasts allow more).

Telegram counts per bot, not per process: when several instances send for one bot, each
takes an equal share of every limit (`share`), so that together they stay within them.

A sender that must not hold a claim while it waits (the dispatcher: a check-in claimed and
then queued here would be "uncertain" after a crash although it never left) takes a permit
first with `take()`, claims, and sends with `rate_limit_args=PREPAID`: that request then
goes out at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.telegram.delivery import retry_after_of

log = logging.getLogger(__name__)

PREPAID = 1
"""`rate_limit_args` of a request whose permit was taken with `take()`."""
GROUP_PER_MINUTE = 20
# Telegram's limit on messages a second overall (without paid broadcasts).
TELEGRAM_PER_SECOND = 30
MAX_RETRIES = 3
# A check-in is claimed at most this long (seconds) before its request goes out.
LOOKAHEAD = 0.25
# With every place taken by a request in flight, how often the Telegram gate looks again.
_ALL_IN_FLIGHT_POLL = 0.05

Request = Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]]


class _Window:
    """Lets at most `count` requests through in any `seconds`-long window."""

    def __init__(self, count: int, seconds: float) -> None:
        self.count = count
        self._seconds = seconds
        self._sent: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def wait(self, hold_until: float) -> None:
        loop = asyncio.get_running_loop()
        async with self._lock:
            now = loop.time()
            while self._sent and self._sent[0] <= now - self._seconds:
                self._sent.popleft()
            slot = max(now, hold_until)
            if len(self._sent) >= self.count:
                slot = max(slot, self._sent[0] + self._seconds)
                self._sent.popleft()
            self._sent.append(slot)
        if slot > now:
            await asyncio.sleep(slot - now)


class FloodLimiter(BaseRateLimiter[int]):
    """Evenly spaced requests overall, at most 20 a minute per group, and 429s waited out."""

    def __init__(self, per_second: float, *, max_retries: int = MAX_RETRIES) -> None:
        self._rate = per_second
        self._senders = 1
        self._group_count = GROUP_PER_MINUTE
        self._interval = 1 / per_second if per_second > 0 else 0.0
        self._next = 0.0
        self._reserved: deque[float] = deque()
        self._lock = asyncio.Lock()
        self._groups: dict[int, _Window] = {}
        self._max_retries = max_retries
        self._hold_until = 0.0
        # The last second's sends, by when they really went out (see the module docstring).
        self._cap = max(1, int(per_second)) if per_second > 0 else 0
        self._recent: deque[float] = deque()
        self._gate = asyncio.Lock()
        # What Telegram may count (see the module docstring): requests in flight, and the
        # answer times of the last second's.
        self._limit = max(TELEGRAM_PER_SECOND, math.ceil(per_second)) if per_second > 0 else 0
        self._in_flight = 0
        self._answered: deque[float] = deque()

    def share(self, senders: int) -> None:
        """Take a 1/`senders` share of every limit: that many instances send for this bot."""
        senders = max(1, senders)
        if senders == self._senders or self._rate <= 0:
            return
        whole = max(TELEGRAM_PER_SECOND, math.ceil(self._rate))
        self._senders = senders
        self._interval = senders / self._rate
        self._cap = max(1, int(self._rate / senders))
        self._limit = max(1, whole // senders)
        self._group_count = max(1, GROUP_PER_MINUTE // senders)
        for window in self._groups.values():
            window.count = self._group_count
        log.info("flood.shared senders=%d per_second=%.2f", senders, self._rate / senders)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def take(self, up_to: int = 1) -> int:
        """Reserve the next sending slots that fall within LOOKAHEAD; return how many.

        Waits until the next slot is that close. Each prepaid request then goes out at its
        own slot, so a claim is never more than LOOKAHEAD ahead of its send.
        """
        if not self._interval:
            await self._hold()
            return max(1, up_to)
        loop = asyncio.get_running_loop()
        async with self._lock:
            first = max(loop.time(), self._next, self._hold_until)
            delay = first - loop.time() - LOOKAHEAD
            if delay > 0:
                await asyncio.sleep(delay)
            horizon = loop.time() + LOOKAHEAD
            slot = max(loop.time(), self._next, self._hold_until)
            count = 0
            while count < max(1, up_to) and (count == 0 or slot <= horizon):
                self._reserved.append(slot)
                slot += self._interval
                count += 1
            self._next = slot
        return count

    def release(self, unused: int) -> None:
        """Give back the last `unused` reserved slots (fewer were claimed than reserved)."""
        for _ in range(min(unused, len(self._reserved))):
            self._next = self._reserved.pop()

    async def process_request(
        self,
        callback: Request,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Wait for the request's turn (its reserved slot when prepaid), send, wait out 429s."""
        del endpoint
        prepaid = rate_limit_args == PREPAID
        for attempt in range(self._max_retries + 1):
            if prepaid and attempt == 0:
                await self._reserved_turn()
            else:
                await self._turn(data.get("chat_id"))
            await self._second_gate()
            await self._telegram_gate()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as err:
                wait = retry_after_of(err).total_seconds()
                self._hold_until = max(self._hold_until, asyncio.get_running_loop().time() + wait)
                log.warning("flood.rate_limited wait_s=%.1f attempt=%d", wait, attempt + 1)
                if attempt == self._max_retries:
                    raise
            finally:
                self._answered_now()
        raise AssertionError("unreachable")

    async def _telegram_gate(self) -> None:
        """Wait until fewer than `limit` requests are in flight or answered within a second.

        An answer frees no room (the request then counts for a second more): room comes
        only when the oldest answer is a second old, so that is when to look again.
        """
        if not self._limit:
            return
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            while self._answered and self._answered[0] <= now - 1.0:
                self._answered.popleft()
            if self._in_flight + len(self._answered) < self._limit:
                self._in_flight += 1
                return
            wait = self._answered[0] + 1.0 - now if self._answered else _ALL_IN_FLIGHT_POLL
            await asyncio.sleep(max(wait, 0.0))

    def _answered_now(self) -> None:
        # No await here: a cancellation cannot leave the request counted in flight.
        if self._limit:
            self._in_flight -= 1
            self._answered.append(asyncio.get_running_loop().time())

    async def _reserved_turn(self) -> None:
        if not self._reserved:
            await self._turn(None)
            return
        slot = max(self._reserved.popleft(), self._hold_until)
        remaining = slot - asyncio.get_running_loop().time()
        if remaining > 0:
            await asyncio.sleep(remaining)

    async def _turn(self, chat_id: object) -> None:
        if isinstance(chat_id, int) and chat_id < 0:
            group = self._groups.setdefault(chat_id, _Window(self._group_count, 60.0))
            await group.wait(self._hold_until)
        if not self._interval:
            await self._hold()
            return
        loop = asyncio.get_running_loop()
        async with self._lock:
            slot = max(loop.time(), self._next, self._hold_until)
            self._next = slot + self._interval
        remaining = slot - loop.time()
        if remaining > 0:
            await asyncio.sleep(remaining)

    async def _second_gate(self) -> None:
        """Wait while the last second already saw `cap` requests go out, then count this one."""
        if not self._cap:
            return
        loop = asyncio.get_running_loop()
        async with self._gate:
            while True:
                now = loop.time()
                while self._recent and self._recent[0] <= now - 1.0:
                    self._recent.popleft()
                if len(self._recent) < self._cap:
                    self._recent.append(now)
                    return
                await asyncio.sleep(self._recent[0] + 1.0 - now)

    async def _hold(self) -> None:
        remaining = self._hold_until - asyncio.get_running_loop().time()
        if remaining > 0:
            await asyncio.sleep(remaining)

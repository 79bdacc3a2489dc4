"""The dispatcher: sends what the database says is due, at most once each.

The rule for the one ambiguous case
-----------------------------------
The Bot API has no idempotency key, so a send whose outcome is unknown cannot be repeated
without risking a duplicate. Afterglow therefore sends each check-in at most once:

1. A check-in is *claimed* (pending -> sent, delivery "unconfirmed") in its own committed
   transaction before the request goes out.
2. When Telegram answers with the message, delivery becomes "confirmed".
3. When the request certainly did not reach Telegram (connection refused, connect timeout,
   HTTP 5xx or 429), the claim is released back to pending and retried on a later tick, as
   long as the check-in is inside its send window.
4. When the outcome is unknown (a read timeout, a connection dropped mid-response, or the
   process dying between claim and confirmation), the check-in stays "sent" with delivery
   "uncertain" and is never sent again. If the patient did get it they can answer it as
   usual; if not, it closes as missed at the end of its answer window, and the next planned
   check-in (or /checkin) gives them the next chance to answer. A duplicate prompt is never
   traded for a possibly lost one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol as TypingProtocol

from bot.domain.clock import Clock
from bot.domain.entities import DueCheckin, PatientStatus
from bot.domain.protocol import Protocol
from storage import Storage

log = logging.getLogger(__name__)

RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Delivered:
    """Telegram accepted the message."""

    message_id: int


@dataclass(frozen=True, slots=True)
class NotDelivered:
    """The message certainly did not reach Telegram; it is safe to try again later."""

    reason: str


@dataclass(frozen=True, slots=True)
class Unknown:
    """The message may or may not have reached the patient."""

    reason: str


@dataclass(frozen=True, slots=True)
class RateLimited:
    """Telegram asked to wait before sending more."""

    retry_after: timedelta


@dataclass(frozen=True, slots=True)
class Undeliverable:
    """The message can never be delivered; optionally the patient is unreachable."""

    reason: str
    patient_unreachable: bool


SendOutcome = Delivered | NotDelivered | Unknown | RateLimited | Undeliverable


class CheckinSender(TypingProtocol):
    """Sends a check-in prompt to a chat and reports what happened, never raising."""

    async def send_checkin(self, chat_id: int, checkin_id: int) -> SendOutcome:
        """Send the prompt for a check-in."""
        ...


@dataclass(slots=True)
class TickReport:
    """What one dispatcher pass did."""

    ran: bool = False
    sent: int = 0
    uncertain: int = 0
    retry_later: int = 0
    failed: int = 0
    missed: int = 0
    cancelled: int = 0
    rate_limited: bool = False
    outcomes: list[str] = field(default_factory=list)
    patients_with_misses: set[int] = field(default_factory=set)


def retry_delay(attempts: int) -> timedelta:
    """Return the back-off before the next attempt after `attempts` failed ones."""
    exponent = max(0, min(attempts - 1, 10))
    return min(RETRY_BASE * (1 << exponent), RETRY_MAX)


class Dispatcher:
    """Sends due check-ins; the database, not the scheduler, holds what is due."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        sender: CheckinSender,
        *,
        protocol: Protocol,
        batch_size: int = 25,
        max_batches: int = 400,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._sender = sender
        self._protocol = protocol
        self._batch_size = batch_size
        self._max_batches = max_batches
        self._lock = asyncio.Lock()
        self._hold_until = clock.now() - timedelta(seconds=1)
        self._delivered: list[Callable[[DueCheckin], Awaitable[None]]] = []

    def on_delivered(self, listener: Callable[[DueCheckin], Awaitable[None]]) -> None:
        """Call listener after each confirmed delivery (e.g. to push a scheduled explainer)."""
        self._delivered.append(listener)

    async def recover(self) -> int:
        """At start-up, flag sends interrupted by a crash as uncertain (never resent)."""
        count = await self._storage.checkins.recover_unconfirmed()
        if count:
            log.warning("dispatch.recovered_uncertain count=%d", count)
        return count

    async def tick(self) -> TickReport:
        """Close what expired, then send what is due, in bounded batches."""
        report = TickReport()
        if self._lock.locked():
            return report
        async with self._lock:
            now = self._clock.now()
            checkins = self._storage.checkins
            if not await checkins.has_work(now, self._protocol.answer_window):
                return report
            report.ran = True
            counts = await checkins.housekeeping(
                now,
                send_window=self._protocol.send_window,
                answer_window=self._protocol.answer_window,
            )
            report.missed = (
                counts.missed_unanswered + counts.missed_not_sent + counts.missed_superseded
            )
            report.cancelled = counts.cancelled
            report.patients_with_misses.update(counts.patients_with_misses)
            if report.missed or report.cancelled:
                log.info(
                    "dispatch.closed missed_unanswered=%d missed_not_sent=%d"
                    " missed_superseded=%d cancelled=%d",
                    counts.missed_unanswered,
                    counts.missed_not_sent,
                    counts.missed_superseded,
                    counts.cancelled,
                )
            # Sends are pipelined: while one batch waits for the flood limiter, the next is
            # claimed, so the limiter never idles. At most `2 * batch_size` check-ins are
            # claimed and not yet answered by Telegram at any moment; a crash leaves only
            # those as "uncertain".
            in_flight: set[asyncio.Task[None]] = set()
            try:
                for _ in range(self._max_batches):
                    while len(in_flight) >= self._batch_size:
                        done, _pending = await asyncio.wait(
                            in_flight, return_when=asyncio.FIRST_COMPLETED
                        )
                        in_flight -= done
                        for task in done:
                            task.result()
                    if self._clock.now() < self._hold_until:
                        report.rate_limited = True
                        break
                    due = await checkins.claim_due(self._clock.now(), limit=self._batch_size)
                    if not due:
                        break
                    for item in due:
                        if item.closed_previous:
                            report.patients_with_misses.add(item.checkin.patient_id)
                        in_flight.add(asyncio.create_task(self._send_and_record(item, report)))
            finally:
                if in_flight:
                    await asyncio.gather(*in_flight)
            return report

    async def _send_and_record(self, item: DueCheckin, report: TickReport) -> None:
        await self._record(item, await self._send_one(item), report)

    async def _send_one(self, item: DueCheckin) -> SendOutcome:
        try:
            return await self._sender.send_checkin(item.chat_id, item.checkin.id)
        except Exception as err:  # the sender must not raise; treat a bug as unknown outcome
            log.exception("dispatch.sender_error code=%s", item.patient_code)
            return Unknown(reason=f"sender error: {type(err).__name__}")

    async def _record(self, item: DueCheckin, outcome: SendOutcome, report: TickReport) -> None:
        checkins = self._storage.checkins
        checkin = item.checkin
        code = item.patient_code
        now = self._clock.now()
        match outcome:
            case Delivered(message_id=message_id):
                await checkins.confirm_sent(checkin.id, message_id=message_id)
                report.sent += 1
                log.info("checkin.sent code=%s checkin=%d", code, checkin.id)
                for listener in self._delivered:
                    try:
                        await listener(item)
                    except Exception:
                        log.exception("dispatch.delivered_listener_failed code=%s", code)
            case Unknown(reason=reason):
                await checkins.mark_uncertain(checkin.id, reason=reason)
                report.uncertain += 1
                log.warning(
                    "checkin.uncertain code=%s checkin=%d reason=%s", code, checkin.id, reason
                )
            case NotDelivered(reason=reason):
                await checkins.release(
                    checkin.id, retry_at=now + retry_delay(checkin.attempts), reason=reason
                )
                report.retry_later += 1
                log.warning("checkin.retry code=%s checkin=%d reason=%s", code, checkin.id, reason)
            case RateLimited(retry_after=wait):
                self._hold_until = max(self._hold_until, now + wait)
                await checkins.release(
                    checkin.id, retry_at=now + wait, reason="rate limited (429)"
                )
                report.retry_later += 1
                report.rate_limited = True
                log.warning("checkin.rate_limited code=%s wait_s=%.0f", code, wait.total_seconds())
            case Undeliverable(reason=reason, patient_unreachable=unreachable):
                await checkins.fail(
                    checkin.id,
                    reason=reason,
                    now=now,
                    patient_status=PatientStatus.UNREACHABLE if unreachable else None,
                )
                report.failed += 1
                log.warning(
                    "checkin.failed code=%s checkin=%d reason=%s unreachable=%s",
                    code,
                    checkin.id,
                    reason,
                    unreachable,
                )
        report.outcomes.append(type(outcome).__name__)

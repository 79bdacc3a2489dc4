"""The dispatcher: sends what the database says is due, at most once each.

`bot.services.prompts` holds the rule for recording each send; this module decides what
is sent when: it closes what expired, then claims and sends due check-ins in bounded,
pipelined batches, holding back while Telegram asks it to wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.clock import Clock
from bot.domain.delivery import (
    Delivered,
    NotDelivered,
    RateLimited,
    SendOutcome,
    Undeliverable,
    Unknown,
)
from bot.domain.entities import DueCheckin, HousekeepingCounts
from bot.domain.protocol import Protocol
from bot.services.ports import CheckinSender, SendPermits
from bot.services.prompts import record_prompt, send_prompt
from storage import Storage

log = logging.getLogger(__name__)

# How often a pass looks for the unconfirmed sends of instances that died meanwhile: each
# pass of the running bot (every 30 s), not each of a burst of passes.
RECOVER_EVERY = timedelta(seconds=25)

DeliveredListener = Callable[[DueCheckin], Awaitable[None]]
UnreachableListener = Callable[[int], Awaitable[None]]


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

    def count(self, outcome: SendOutcome) -> None:
        """Add one send's outcome to the tallies."""
        match outcome:
            case Delivered():
                self.sent += 1
            case Unknown():
                self.uncertain += 1
            case RateLimited():
                self.retry_later += 1
                self.rate_limited = True
            case NotDelivered():
                self.retry_later += 1
            case _:
                self.failed += 1
        self.outcomes.append(type(outcome).__name__)

    def closed(self, counts: HousekeepingCounts) -> None:
        """Add what housekeeping closed."""
        self.missed = counts.missed_unanswered + counts.missed_not_sent + counts.missed_superseded
        self.cancelled = counts.cancelled
        self.patients_with_misses.update(counts.patients_with_misses)


class NoLimit:
    """Permits without a limit (where nothing stands between the dispatcher and Telegram)."""

    async def take(self, up_to: int = 1) -> int:
        """Every send may go out now."""
        return max(1, up_to)

    def release(self, unused: int) -> None:
        """Nothing was held back."""


class Dispatcher:
    """Sends due check-ins; the database, not the scheduler, holds what is due."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        sender: CheckinSender,
        *,
        protocol: Protocol,
        permits: SendPermits | None = None,
        on_delivered: Sequence[DeliveredListener] = (),
        on_unreachable: Sequence[UnreachableListener] = (),
        batch_size: int = 25,
        max_sends: int = 10_000,
        instance: int | None = None,
    ) -> None:
        self._storage = storage
        self._instance = instance
        self._recovered_at: datetime | None = None
        self._clock = clock
        self._sender = sender
        self._protocol = protocol
        self._permits: SendPermits = permits or NoLimit()
        self._delivered = tuple(on_delivered)
        self._unreachable = tuple(on_unreachable)
        self._batch_size = batch_size
        self._max_sends = max_sends
        self._lock = asyncio.Lock()
        self._hold_until = clock.now() - timedelta(seconds=1)

    async def recover(self) -> int:
        """Flag sends a stop or crash interrupted as uncertain (never resent).

        At start-up, and then at most every RECOVER_EVERY from `tick`: with several
        instances, one may die while the others run, and its unconfirmed sends are found
        here. Without an instance id every unconfirmed send is taken as interrupted.
        """
        self._recovered_at = self._clock.now()
        alive: frozenset[int] = frozenset()
        if self._instance is not None:
            alive = await self._storage.instances.alive(self._instance, now=self._clock.now())
        count = await self._storage.checkins.recover_unconfirmed(alive=alive)
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
            if self._instance is not None and (
                self._recovered_at is None or now - self._recovered_at >= RECOVER_EVERY
            ):
                try:
                    await self.recover()
                except Exception:
                    # The due check-ins go out all the same; the next pass looks again.
                    log.exception("dispatch.recover_failed")
            checkins = self._storage.checkins
            if not await checkins.has_work(now, self._protocol.answer_window):
                return report
            report.ran = True
            counts = await checkins.housekeeping(
                now,
                send_window=self._protocol.send_window,
                answer_window=self._protocol.answer_window,
            )
            report.closed(counts)
            if report.missed or report.cancelled:
                log.info(
                    "dispatch.closed missed_unanswered=%d missed_not_sent=%d"
                    " missed_superseded=%d cancelled=%d",
                    counts.missed_unanswered,
                    counts.missed_not_sent,
                    counts.missed_superseded,
                    counts.cancelled,
                )
            await self._send_due(report)
            return report

    async def _send_due(self, report: TickReport) -> None:
        """Claim and send due check-ins, each claimed only once it may go out.

        A permit from the flood limit is taken before the claim, so a check-in is never
        claimed and then left waiting in the limiter's queue: a crash leaves uncertain only
        the requests actually sent and not yet answered. Sends are pipelined: at most
        `batch_size` are in flight at once.
        """
        in_flight: set[asyncio.Task[None]] = set()
        budget = self._max_sends
        try:
            while budget > 0:
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
                allowed = await self._permits.take(min(budget, self._batch_size - len(in_flight)))
                due = await self._storage.checkins.claim_due(
                    self._clock.now(), limit=allowed, by=self._instance
                )
                self._permits.release(allowed - len(due))
                if not due:
                    break
                budget -= len(due)
                for item in due:
                    if item.closed_previous:
                        report.patients_with_misses.add(item.checkin.patient_id)
                    in_flight.add(asyncio.create_task(self._send_and_record(item, report)))
        finally:
            if in_flight:
                await asyncio.gather(*in_flight)

    async def _send_and_record(self, item: DueCheckin, report: TickReport) -> None:
        outcome = await send_prompt(self._sender, item, prepaid=True)
        now = self._clock.now()
        if isinstance(outcome, RateLimited):
            self._hold_until = max(self._hold_until, now + outcome.retry_after)
        await record_prompt(self._storage, item, outcome, now=now, may_retry=True)
        report.count(outcome)
        if isinstance(outcome, Undeliverable) and outcome.recipient_gone:
            for tell in self._unreachable:
                try:
                    await tell(item.checkin.patient_id)
                except Exception:
                    log.exception(
                        "dispatch.unreachable_listener_failed code=%s", item.patient_code
                    )
        if isinstance(outcome, Delivered):
            for listener in self._delivered:
                try:
                    await listener(item)
                except Exception:
                    log.exception("dispatch.delivered_listener_failed code=%s", item.patient_code)

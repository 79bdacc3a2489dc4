"""Escalation: an URGENT alert nobody acknowledged in time goes to the on-call staff.

Each on-call member who joined the roster gets the alert privately, with its buttons, once
per interval until someone acknowledges it; the staff chat is told each time whom it
reached. With nobody on call it goes to the clinic's owners, so that it always reaches a
person and not only a group chat that may be muted at night.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.domain.clock import Clock
from bot.domain.codes import Urgency
from bot.domain.delivery import Delivered
from bot.domain.entities import Alert, EscalationRound
from bot.services.ports import StaffSender, Wording
from bot.services.roster import RosterService
from bot.services.urgent import UrgentOutbox
from storage import Storage

log = logging.getLogger(__name__)

# A round that failed as a whole (the database, say) is tried again this much later.
RETRY_ROUND = timedelta(minutes=1)
# At most this many alerts are escalated in one pass; the rest in the next.
ROUNDS_PER_PASS = 20


class EscalationService:
    """Finds due escalations and sends them, at least once per interval."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        roster: RosterService,
        sender: StaffSender,
        outbox: UrgentOutbox,
        wording: Wording,
        every: timedelta,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._roster = roster
        self._sender = sender
        self._outbox = outbox
        self._wording = wording
        self._every = every

    async def escalate_due(self) -> int:
        """Escalate every due alert; return how many rounds went out.

        Each alert is claimed just before its round, one at a time, so no other instance
        runs the same round meanwhile; a round cut short by a crash is run again when the
        claim's lease ends (on-call staff may get that copy twice, never not at all).
        """
        rounds = 0
        for _ in range(ROUNDS_PER_PASS):
            claimed = await self._storage.escalations.claim_due(self._clock.now(), limit=1)
            if not claimed:
                break
            alert = claimed[0]
            try:
                await self._escalate(alert)
                rounds += 1
            except Exception:
                log.exception("escalation.failed alert=%d", alert.id)
                await self._storage.escalations.postpone(
                    alert.id, by=RETRY_ROUND, now=self._clock.now()
                )
        return rounds

    async def copied(self, alert_id: int, *, chat_id: int, message_id: int) -> None:
        """Record a copy of an alert opened from /alerts, so that its buttons act on it."""
        await self._storage.escalations.record_copy(
            alert_id, chat_id=chat_id, message_id=message_id
        )

    async def _escalate(self, alert: Alert) -> None:
        now = self._clock.now()
        waited = now - alert.created_at
        members = await self._roster.on_call()
        to_owners = not members
        targets = (
            [("owner", owner) for owner in sorted(self._roster.owners)]
            if to_owners
            else [(m.name, m.telegram_user_id) for m in members if m.telegram_user_id]
        )
        reached: list[str] = []
        missed: list[str] = []
        for name, chat_id in targets:
            outcome = await self._sender.send_escalation(chat_id, alert, waited=waited)
            if isinstance(outcome, Delivered):
                reached.append(name)
                await self._storage.escalations.record_copy(
                    alert.id, chat_id=chat_id, message_id=outcome.message_id
                )
            else:
                missed.append(name)
        # Planned before the staff chat is told, so a failing note cannot repeat the round.
        await self._storage.escalations.escalated(alert.id, next_at=now + self._every)
        escalation = EscalationRound(
            waited=waited,
            number=alert.escalations + 1,
            reached=tuple(reached),
            missed=tuple(missed),
            to_owners=to_owners,
        )
        log.warning(
            "escalation.sent alert=%d code=%s reached=%d missed=%d owners=%s",
            alert.id,
            alert.patient_code,
            len(reached),
            len(missed),
            to_owners,
        )
        try:
            await self._outbox.send(
                None, self._wording.escalation_note(alert, escalation), Urgency.STAFF_ABOUT_PATIENT
            )
        except Exception:
            # The round went out and is recorded: a failing note must not repeat it (the
            # caller's retry would plan the next round a minute on, not `every`).
            log.exception("escalation.note_failed alert=%d", alert.id)

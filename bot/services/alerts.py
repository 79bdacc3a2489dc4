"""Staff alerts: stored first, then delivered with retries, reminders and one-tap handling.

Delivery is at-least-once on purpose: an alert about a patient must reach a human, so a send
whose outcome is unknown is tried again (staff may then see a duplicate, never nothing).
Each send is claimed in the database first, so two deliveries (here or in another instance)
never send one at once; one a crash cut short is made again when the claim's lease ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.domain.backoff import backoff
from bot.domain.clock import Clock
from bot.domain.codes import AlertKind, AuditAction, DeliveryProblem, EpisodeKind
from bot.domain.delivery import (
    Delivered,
    Migrated,
    RateLimited,
    SendOutcome,
    Undeliverable,
    problem_of,
)
from bot.domain.entities import NOTE_LIMIT, Alert, NewAlert, Patient
from bot.domain.text import clean_text
from bot.services.ports import StaffSender
from storage import Storage

log = logging.getLogger(__name__)

STAFF_CHAT_KEY = "staff_chat_id"
REMINDER_AFTER = timedelta(hours=4)
URGENT_REPEAT = timedelta(minutes=15)
RETRY_FIRST = timedelta(seconds=15)
RETRY_MAX = timedelta(minutes=10)
URGENT_RETRY_MAX = timedelta(minutes=1)
# The bot cannot post in the staff chat (removed from it): keep trying, loudly, until fixed.
STAFF_CHAT_PROBLEM_WAIT = timedelta(minutes=5)
# At most this many alerts, and reminders, go out in one delivery; the rest in the next.
ALERTS_PER_ROUND = 200
REMINDERS_PER_ROUND = 20

ChartSource = Callable[[Alert], Awaitable[bytes | None]]
ChatMoved = Callable[[int], None]


def retry_delay(attempts: int, *, urgent: bool) -> timedelta:
    """Return the back-off after `attempts` failed attempts."""
    return backoff(attempts, first=RETRY_FIRST, ceiling=URGENT_RETRY_MAX if urgent else RETRY_MAX)


class AlertService:
    """Raises, delivers, reminds and records staff handling of alerts."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        sender: StaffSender,
        *,
        staff_chat_id: int,
        chart: ChartSource,
        on_staff_chat_moved: ChatMoved,
        escalate_after: timedelta,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._sender = sender
        self._default_chat = staff_chat_id
        self._chart = chart
        self._chat_moved = on_staff_chat_moved
        self._escalate_after = int(escalate_after.total_seconds())
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[int]] = set()

    async def _migrated(self, new_chat_id: int) -> None:
        await self._storage.clinic.set_value(STAFF_CHAT_KEY, str(new_chat_id))
        self._chat_moved(new_chat_id)
        log.warning("alert.staff_chat_migrated")

    async def group_migrated(self, old_chat_id: int, new_chat_id: int) -> bool:
        """Follow the staff group to its supergroup when Telegram says it moved."""
        if old_chat_id != await self.staff_chat_id():
            return False
        await self._migrated(new_chat_id)
        return True

    @property
    def configured_staff_chat_id(self) -> int:
        """Return the staff chat from the settings (no database involved)."""
        return self._default_chat

    async def staff_chat_id(self) -> int:
        """Return the staff chat, following a recorded supergroup migration."""
        stored = await self._storage.clinic.value(STAFF_CHAT_KEY)
        return int(stored) if stored is not None else self._default_chat

    async def staff_chat_come_what_may(self) -> int:
        """Return the staff chat, or the configured one when the database cannot be read."""
        try:
            return await self.staff_chat_id()
        except Exception:
            log.exception("alert.staff_chat_unreadable")
            return self._default_chat

    async def open_episode(
        self,
        patient: Patient,
        *,
        kind: EpisodeKind,
        since: datetime,
        explanation: str,
        text: str,
        detected_at: datetime | None = None,
    ) -> Alert | None:
        """Open an episode with its alert (stored before sending); None if one is open."""
        alert = await self._storage.alerts.open_episode(
            patient_id=patient.id,
            kind=kind,
            since=since,
            explanation=explanation,
            now=self._clock.now(),
            detected_at=detected_at,
            alert=NewAlert(
                kind=AlertKind.of_episode(kind),
                text=text,
                with_chart=True,
                remind_after=int(REMINDER_AFTER.total_seconds()),
            ),
        )
        if alert is not None:
            log.info("alert.raised code=%s kind=%s alert=%d", patient.code, kind, alert.id)
        return alert

    async def store_crisis(
        self,
        patient: Patient,
        *,
        words: str,
        text: str,
        follow_up_text: str,
        update_id: int | None,
    ) -> Alert | None:
        """Store the patient's words and an urgent crisis alert; None for a repeated update."""
        alert = await self._storage.alerts.record_crisis(
            patient_id=patient.id,
            note_checkin_id=patient.awaiting_note_checkin_id,
            text=clean_text(words)[:NOTE_LIMIT],
            update_id=update_id,
            now=self._clock.now(),
            first=self._urgent(text),
            follow_up=NewAlert(kind=AlertKind.CRISIS, text=follow_up_text, urgent=True),
        )
        if alert is not None:
            log.warning("alert.urgent code=%s kind=crisis alert=%d", patient.code, alert.id)
        return alert

    def _urgent(self, text: str) -> NewAlert:
        """An URGENT crisis alert: repeated until acknowledged, escalated to the on-call."""
        every = int(URGENT_REPEAT.total_seconds())
        return NewAlert(
            kind=AlertKind.CRISIS,
            text=text,
            urgent=True,
            remind_after=every,
            remind_every=every,
            escalate_after=self._escalate_after,
        )

    async def raise_urgent(self, patient: Patient, *, text: str) -> Alert:
        """Store an URGENT alert repeated until acknowledged, and send it at once."""
        alert = await self._storage.alerts.add(
            patient_id=patient.id, alert=self._urgent(text), now=self._clock.now()
        )
        if alert is None:
            raise RuntimeError("an alert outside an episode is always stored")
        log.warning("alert.urgent code=%s kind=crisis alert=%d", patient.code, alert.id)
        await self.send_now(alert)
        return alert

    async def send_now(self, alert: Alert) -> bool:
        """Send one alert at once, ahead of other deliveries; True if delivered (False also
        when another delivery, here or in another instance, has it or has sent it)."""
        claimed = await self._storage.alerts.claim(alert.id, now=self._clock.now())
        if claimed is None:
            return False
        return await self._deliver_one(claimed)

    async def raise_plain(
        self,
        patient: Patient,
        *,
        kind: AlertKind,
        text: str,
        episode_id: int | None = None,
        remind_after: timedelta | None = REMINDER_AFTER,
        remind_every: timedelta | None = None,
        event_key: str | None = None,
    ) -> Alert | None:
        """Store a non-urgent alert (by default reminded once after 4 hours) and send it.

        With an episode, at most one alert of this kind is raised for it; with an event key,
        at most one for that event (None otherwise).
        """
        alert = await self._storage.alerts.add(
            patient_id=patient.id,
            alert=NewAlert(
                kind=kind,
                text=text,
                remind_after=None if remind_after is None else int(remind_after.total_seconds()),
                remind_every=None if remind_every is None else int(remind_every.total_seconds()),
                event_key=event_key,
            ),
            now=self._clock.now(),
            episode_id=episode_id,
            once_per_episode=episode_id is not None,
        )
        if alert is not None:
            log.info("alert.raised code=%s kind=%s alert=%d", patient.code, kind, alert.id)
            self.deliver_soon()
        return alert

    def deliver_soon(self) -> None:
        """Start delivering in the background, so the caller need not wait for Telegram."""
        task = asyncio.get_running_loop().create_task(self.deliver())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Wait for background deliveries (at shutdown)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def deliver(self) -> int:
        """Send due alerts (urgent first) and due reminders; return how many went out."""
        async with self._lock:
            sent, stopped = await self._deliver_due()
            if stopped:
                return sent
            for _ in range(REMINDERS_PER_ROUND):
                # One claimed at a time, just before its send: the lease covers one send.
                claimed = await self._storage.alerts.claim_reminders(self._clock.now(), limit=1)
                if not claimed:
                    break
                if await self._remind(claimed[0]):
                    sent += 1
            return sent

    async def deliver_urgent(self) -> int:
        """Send due URGENT alerts only (the urgent worker's pass, every second or so)."""
        async with self._lock:
            sent, _stopped = await self._deliver_due(urgent_only=True)
            return sent

    async def _deliver_due(self, *, urgent_only: bool = False) -> tuple[int, bool]:
        """Send due alerts, each claimed just before its send (the lease covers one send);
        stop at the first one Telegram does not take, leaving the rest for the next round."""
        sent = 0
        for _ in range(ALERTS_PER_ROUND):
            claimed = await self._storage.alerts.claim_due(
                self._clock.now(), limit=1, urgent_only=urgent_only
            )
            if not claimed:
                break
            if not await self._deliver_one(claimed[0]):
                # Telegram refused or failed: leave the rest for the next round.
                return sent, True
            sent += 1
        return sent, False

    async def _chart_for(self, alert: Alert) -> bytes | None:
        if not alert.with_chart:
            return None
        try:
            return await self._chart(alert)
        except Exception:
            # A chart is a help, not a condition: the alert goes out without it.
            log.exception("alert.chart_failed alert=%d", alert.id)
            return None

    async def _send(
        self, alert: Alert, photo: bytes | None, *, reminder: bool
    ) -> tuple[int, SendOutcome]:
        """Send to the staff chat, following it once if it became a supergroup."""
        for _ in range(2):
            chat_id = await self.staff_chat_id()
            outcome = await self._sender.send_alert(chat_id, alert, photo=photo, reminder=reminder)
            if not isinstance(outcome, Migrated):
                break
            await self._migrated(outcome.new_chat_id)
        return chat_id, outcome

    async def _deliver_one(self, alert: Alert) -> bool:
        try:
            chat_id, outcome = await self._send(
                alert, await self._chart_for(alert), reminder=False
            )
        except Exception:
            # Not Telegram's answer (say, the staff chat unreadable): retry soon, not a lease on.
            with contextlib.suppress(Exception):
                await self._storage.alerts.mark_retry(
                    alert.id,
                    retry_at=self._clock.now() + RETRY_FIRST,
                    problem=DeliveryProblem.TELEGRAM_ERROR,
                )
            raise
        now = self._clock.now()
        if isinstance(outcome, Delivered):
            await self._storage.alerts.mark_sent(
                alert.id,
                chat_id=chat_id,
                message_id=outcome.message_id,
                photo=outcome.photo,
                now=now,
            )
            log.info("alert.sent code=%s alert=%d", alert.patient_code, alert.id)
            return True
        problem = problem_of(outcome) or DeliveryProblem.TELEGRAM_ERROR
        wait = self._retry_wait(outcome, alert)
        await self._storage.alerts.mark_retry(alert.id, retry_at=now + wait, problem=problem)
        log.warning(
            "alert.retry code=%s alert=%d problem=%s", alert.patient_code, alert.id, problem
        )
        return False

    @staticmethod
    def _retry_wait(outcome: SendOutcome, alert: Alert) -> timedelta:
        match outcome:
            case RateLimited(retry_after=wait):
                return wait
            case Undeliverable(problem=DeliveryProblem.FORBIDDEN):
                return STAFF_CHAT_PROBLEM_WAIT
        return retry_delay(alert.attempts + 1, urgent=alert.urgent)

    async def _remind(self, alert: Alert) -> bool:
        chat_id, outcome = await self._send(alert, None, reminder=True)
        now = self._clock.now()
        if isinstance(outcome, Delivered):
            await self._storage.alerts.reminder_sent(
                alert.id, now=now, chat_id=chat_id, message_id=outcome.message_id
            )
            log.info("alert.reminded code=%s alert=%d", alert.patient_code, alert.id)
            return True
        await self._storage.alerts.reminder_failed(alert.id, retry_at=now + RETRY_FIRST)
        return False

    async def acknowledge(self, alert_id: int, *, staff_id: int) -> Alert | None:
        """Record who acknowledged an alert; None if it was acknowledged before."""
        alert = await self._storage.alerts.acknowledge(
            alert_id, staff_id=staff_id, now=self._clock.now()
        )
        if alert is not None:
            await self._audit(
                staff_id, AuditAction.ACKNOWLEDGE_ALERT, alert.patient_id, f"alert {alert.id}"
            )
            log.info("alert.acknowledged code=%s alert=%d", alert.patient_code, alert.id)
        return alert

    async def resolve(self, alert_id: int, *, staff_id: int) -> Alert | None:
        """End the alert's episode; None if it was resolved before."""
        alert = await self._storage.alerts.resolve(
            alert_id, staff_id=staff_id, now=self._clock.now()
        )
        if alert is not None:
            await self._audit(
                staff_id, AuditAction.RESOLVE_ALERT, alert.patient_id, f"alert {alert.id}"
            )
            log.info("alert.resolved code=%s alert=%d", alert.patient_code, alert.id)
        return alert

    async def resolve_patient(self, patient: Patient, *, staff_id: int) -> int:
        """End every open episode of a patient; return how many."""
        count = await self._storage.alerts.resolve_patient(
            patient.id, staff_id=staff_id, now=self._clock.now()
        )
        await self._audit(staff_id, AuditAction.RESOLVE_PATIENT, patient.id, f"{count} episode(s)")
        log.info("alert.patient_resolved code=%s episodes=%d", patient.code, count)
        return count

    async def pressed_on_its_message(self, alert_id: int, chat_id: int, message_id: int) -> bool:
        """Tell whether a button was pressed on the alert's own message (not a copy)."""
        return await self._storage.alerts.carried_by(
            alert_id, chat_id=chat_id, message_id=message_id
        )

    async def get(self, alert_id: int) -> Alert | None:
        """Return an alert."""
        return await self._storage.alerts.get(alert_id)

    async def open_alerts(self) -> list[Alert]:
        """Return unresolved alerts, urgent first."""
        return await self._storage.alerts.open_alerts()

    async def _audit(
        self, actor: int, action: AuditAction, patient_id: int | None, detail: str | None
    ) -> None:
        await self._storage.clinic.audit(
            actor=actor, action=action, now=self._clock.now(), patient_id=patient_id, detail=detail
        )

    async def audit(
        self, *, actor: int, action: AuditAction, patient: Patient | None, detail: str | None
    ) -> None:
        """Append a staff action on a patient to the audit log."""
        await self._audit(actor, action, None if patient is None else patient.id, detail)

"""Crisis safety: any sign of suicidality reaches the patient's resources and a human at once."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.backoff import backoff
from bot.domain.clock import Clock
from bot.domain.crisis import CrisisDetector, CrisisSignal
from bot.domain.delivery import Delivered
from bot.services.alerts import AlertService
from bot.services.ports import UrgentMessenger, Wording
from storage import Storage

log = logging.getLogger(__name__)

# Someone with no patient record: the first crisis message in this window is a full URGENT
# message to the staff, later ones are follow-ups with their words, up to a cap per window
# (they get the crisis resources every time).
STRANGER_WINDOW = timedelta(minutes=30)
STRANGER_FOLLOW_UPS = 5
# Staff messages that cannot be stored as alerts are retried on every dispatcher pass, with
# this backoff, until delivered; at most this many wait at once (the oldest goes first).
DIRECT_RETRY_FIRST = timedelta(minutes=1)
DIRECT_RETRY_MAX = timedelta(minutes=15)
DIRECT_WAITING_MAX = 200


@dataclass(slots=True)
class _Waiting:
    """A staff message that is not stored as an alert, waiting for its next attempt."""

    text: str
    attempts: int
    next_attempt: datetime


@dataclass(slots=True)
class _Window:
    """What the staff were told about one person with no record since `started`."""

    started: datetime
    follow_ups: int = 0


class SafetyService:
    """Checks free text and, on a signal, tells the patient and the staff at once."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        detector: CrisisDetector,
        alerts: AlertService,
        messenger: UrgentMessenger,
        wording: Wording,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._detector = detector
        self._alerts = alerts
        self._messenger = messenger
        self._wording = wording
        # References for people with no patient record: stable while the bot runs, and not
        # their Telegram id.
        self._reference_key = secrets.token_bytes(16)
        self._strangers: dict[str, _Window] = {}
        self._waiting: list[_Waiting] = []

    def check(self, text: str) -> CrisisSignal | None:
        """Return a crisis signal in text, or None."""
        return self._detector.check(text)

    async def escalate(
        self,
        *,
        user_id: int,
        chat_id: int,
        text: str,
        signal: CrisisSignal,
        update_id: int | None,
    ) -> bool:
        """Reply with the crisis resources at once, then store and send the urgent alert.

        The patient's reply goes first and does not depend on the database. The words are
        kept as a note together with the alert in one transaction; the alert is then sent at
        once, ahead of anything queued, and repeated until a staff member acknowledges it.
        Returns True when the alert was delivered now.
        """
        patient = None
        unreadable = True
        try:
            patient = await self._storage.patients.by_user(user_id)
            unreadable = False
        except Exception:
            log.exception("crisis.lookup_failed")
        finally:
            reply = self._wording.crisis_reply(care_team_told=patient is not None)
            await self._messenger.send_now(chat_id, reply)
        if patient is None:
            # No patient record (or none readable): the resources went out at once, and a
            # human is still told.
            log.warning(
                "crisis.signal_without_record category=%s unreadable=%s",
                signal.category,
                unreadable,
            )
            return await self._tell_staff_about_stranger(
                user_id, text, signal, unreadable=unreadable
            )
        log.warning("crisis.signal code=%s category=%s", patient.code, signal.category)
        alert_text = self._wording.crisis_alert(patient, text, signal.category, follow_up=False)
        try:
            alert = await self._alerts.store_crisis(
                patient,
                words=text,
                text=alert_text,
                follow_up_text=self._wording.crisis_alert(
                    patient, text, signal.category, follow_up=True
                ),
                update_id=update_id,
            )
        except Exception:
            # The database failed: a human must still be told, straight away and directly.
            log.exception("crisis.store_failed code=%s", patient.code)
            await self._tell_staff_directly(self._wording.not_stored(alert_text))
            return False
        if alert is None:
            return False
        return await self._alerts.send_now(alert)

    def stranger_reference(self, user_id: int) -> str:
        """Return a short reference for someone with no patient record (not their id)."""
        digest = hmac.new(self._reference_key, str(user_id).encode(), hashlib.sha256)
        return f"ref {digest.hexdigest()[:8].upper()}"

    async def _tell_staff_about_stranger(
        self, user_id: int, text: str, signal: CrisisSignal, *, unreadable: bool
    ) -> bool:
        """Tell the staff chat: a full message, then follow-ups, a capped number per window."""
        now = self._clock.now()
        self._strangers = {
            reference: window
            for reference, window in self._strangers.items()
            if now - window.started < STRANGER_WINDOW
        }
        reference = self.stranger_reference(user_id)
        window = self._strangers.get(reference)
        if window is None:
            self._strangers[reference] = _Window(started=now)
            message = self._wording.stranger_alert(
                reference, text, signal.category, unreadable=unreadable
            )
        elif window.follow_ups < STRANGER_FOLLOW_UPS:
            window.follow_ups += 1
            message = self._wording.stranger_follow_up(reference, text)
        else:
            log.warning("crisis.stranger_staff_message skipped=follow_up_cap")
            return False
        return await self._tell_staff_directly(message)

    async def _tell_staff_directly(self, text: str) -> bool:
        """Send an urgent text to the staff chat without storing it; retried until sent."""
        sent = await self._send_direct(text)
        if not sent:
            self._wait(_Waiting(text, attempts=1, next_attempt=self._next_attempt(1)))
        log.warning("crisis.direct_staff_message sent=%s", sent)
        return sent

    async def retry_direct(self) -> int:
        """Send the direct staff messages whose retry is due; return how many went out."""
        now = self._clock.now()
        due = [item for item in self._waiting if item.next_attempt <= now]
        sent = 0
        for item in due:
            if await self._send_direct(item.text):
                self._waiting.remove(item)
                sent += 1
            else:
                item.attempts += 1
                item.next_attempt = self._next_attempt(item.attempts)
        if due:
            log.warning(
                "crisis.direct_staff_retry sent=%d still_waiting=%d", sent, len(self._waiting)
            )
        return sent

    @property
    def waiting_direct(self) -> int:
        """Return how many direct staff messages wait for a retry."""
        return len(self._waiting)

    def _next_attempt(self, attempts: int) -> datetime:
        delay = backoff(attempts, first=DIRECT_RETRY_FIRST, ceiling=DIRECT_RETRY_MAX)
        return self._clock.now() + delay

    def _wait(self, item: _Waiting) -> None:
        self._waiting.append(item)
        if len(self._waiting) > DIRECT_WAITING_MAX:
            self._waiting.pop(0)
            log.error("crisis.direct_staff_dropped reason=too_many_waiting")

    async def _send_direct(self, text: str) -> bool:
        try:
            chat_id = await self._alerts.staff_chat_id()
        except Exception:
            log.exception("crisis.staff_chat_unreadable")
            chat_id = self._alerts.configured_staff_chat_id
        outcome = await self._messenger.send_now(chat_id, text)
        return isinstance(outcome, Delivered)

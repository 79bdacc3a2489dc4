"""Crisis safety: any sign of suicidality reaches the patient's resources and a human at once."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol as TypingProtocol

from bot.domain.clock import Clock
from bot.domain.crisis import CrisisDetector, CrisisSignal
from bot.domain.entities import Patient
from bot.services.alerts import AlertService
from bot.telegram.texts import SafetyContacts
from storage import Storage

log = logging.getLogger(__name__)

QUOTE_LIMIT = 600
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


class UrgentMessenger(TypingProtocol):
    """Sends a message to a patient at once, ahead of any queued sending."""

    async def send_now(self, chat_id: int, text: str) -> bool:
        """Send text; True if Telegram accepted it. Never raises."""
        ...


def crisis_reply(contacts: SafetyContacts, *, care_team_told: bool) -> str:
    """Return the caring reply with the crisis resources."""
    told = (
        "I have let your care team know, and someone will reach out to you."
        if care_team_told
        else "Please also contact your clinic."
    )
    return (
        "Thank you for telling me. I am really sorry you are going through this, and you do "
        "not have to face it alone.\n\n"
        "If you might act on these thoughts or are in danger now, call"
        f" {contacts.emergency_number} (local emergency services). You can also"
        f" {contacts.crisis_line}, any time of day or night.\n\n"
        f"{told} This chat is not watched around the clock, so please use the numbers above"
        " if you need help right now."
    )


def crisis_alert_text(
    patient: Patient, text: str, signal: CrisisSignal, *, follow_up: bool = False
) -> str:
    """Return the staff's URGENT alert with the code and the words that triggered it."""
    quoted = _quote(text)
    headline = "another message, possible crisis" if follow_up else "possible crisis"
    closing = (
        "The first alert about this patient is still not acknowledged."
        if follow_up
        else "Please contact them now, then tap Acknowledge. This repeats every 15 minutes"
        " until someone does."
    )
    return (
        f"\U0001f6a8 URGENT \u00b7 {patient.code} \u00b7 {headline}"
        f" ({signal.category.replace('-', ' ').replace('_', ' ')})\n"
        f"The patient wrote: \u201c{quoted}\u201d\n"
        "They were sent the crisis line and told the care team has been informed. "
        f"{closing}"
    )


def _quote(text: str) -> str:
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 1] + "\u2026"


def stranger_alert_text(
    reference: str, text: str, signal: CrisisSignal, *, unreadable: bool = False
) -> str:
    """Return the staff's URGENT message about crisis words from someone with no record."""
    who = "record unreadable" if unreadable else "not a patient"
    sender = (
        "Someone wrote to the bot, and their patient record could not be read (database"
        " error), so Afterglow cannot say whether they are a patient"
        if unreadable
        else "Someone with no patient record wrote to the bot"
    )
    return (
        f"\U0001f6a8 URGENT \u00b7 {who} ({reference}) \u00b7 possible crisis"
        f" ({signal.category.replace('-', ' ').replace('_', ' ')})\n"
        f"{sender}: \u201c{_quote(text)}\u201d\n"
        "They were sent the crisis line and the emergency number and asked to contact the"
        " clinic. Afterglow has no name or number to give you. If someone contacts the"
        " clinic about this message, please treat it as urgent."
    )


def stranger_follow_up_text(reference: str, text: str) -> str:
    """Return the staff's message about another crisis message from the same person."""
    return (
        f"\U0001f6a8 URGENT \u00b7 ({reference}) \u00b7 another message, possible crisis\n"
        f"The same person wrote: \u201c{_quote(text)}\u201d\n"
        "They were sent the crisis resources again."
    )


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
        contacts: SafetyContacts,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._detector = detector
        self._alerts = alerts
        self._contacts = contacts
        self._messenger: UrgentMessenger | None = None
        # References for people with no patient record: stable while the bot runs, and not
        # their Telegram id.
        self._reference_key = secrets.token_bytes(16)
        self._strangers: dict[str, _Window] = {}
        self._waiting: list[_Waiting] = []

    def attach(self, messenger: UrgentMessenger) -> None:
        """Give the service its unthrottled way to reach patients."""
        self._messenger = messenger

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
            reply = crisis_reply(self._contacts, care_team_told=patient is not None)
            if self._messenger is not None:
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
        try:
            alert = await self._alerts.store_crisis(
                patient,
                words=text,
                text=crisis_alert_text(patient, text, signal),
                follow_up_text=crisis_alert_text(patient, text, signal, follow_up=True),
                update_id=update_id,
            )
        except Exception:
            # The database failed: a human must still be told, straight away and directly.
            log.exception("crisis.store_failed code=%s", patient.code)
            await self._tell_staff_directly(crisis_alert_text(patient, text, signal))
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
            message = stranger_alert_text(reference, text, signal, unreadable=unreadable)
        elif window.follow_ups < STRANGER_FOLLOW_UPS:
            window.follow_ups += 1
            message = stranger_follow_up_text(reference, text)
        else:
            log.warning("crisis.stranger_staff_message skipped=follow_up_cap")
            return False
        return await self._tell_staff_directly(message, note=False)

    async def _tell_staff_directly(self, text: str, *, note: bool = True) -> bool:
        """Send an urgent text to the staff chat without storing it; retried until sent."""
        if note:
            text += "\n\n(Could not be stored: no buttons or reminders. Please act on it now.)"
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
        delay: timedelta = min(DIRECT_RETRY_FIRST * 2 ** min(attempts - 1, 10), DIRECT_RETRY_MAX)
        return self._clock.now() + delay

    def _wait(self, item: _Waiting) -> None:
        self._waiting.append(item)
        if len(self._waiting) > DIRECT_WAITING_MAX:
            self._waiting.pop(0)
            log.error("crisis.direct_staff_dropped reason=too_many_waiting")

    async def _send_direct(self, text: str) -> bool:
        if self._messenger is None:
            return False
        try:
            chat_id = await self._alerts.staff_chat_id()
        except Exception:
            log.exception("crisis.staff_chat_unreadable")
            chat_id = self._alerts.configured_staff_chat_id
        return await self._messenger.send_now(chat_id, text)

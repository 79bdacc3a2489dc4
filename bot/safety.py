"""Crisis safety: any sign of suicidality reaches the patient's resources and a human at once."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta
from typing import Protocol as TypingProtocol

from storage import Patient, Storage

from .alerts import AlertService
from .clock import Clock
from .crisis import CrisisDetector, CrisisSignal
from .texts import SafetyContacts

log = logging.getLogger(__name__)

QUOTE_LIMIT = 600
# Someone with no patient record who keeps writing crisis words tells the staff at most this
# often (they get the crisis resources every time).
STRANGER_ALERT_EVERY = timedelta(minutes=30)


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


def stranger_alert_text(reference: str, text: str, signal: CrisisSignal) -> str:
    """Return the staff's URGENT message about crisis words from someone who is not a patient."""
    return (
        f"\U0001f6a8 URGENT \u00b7 not a patient ({reference}) \u00b7 possible crisis"
        f" ({signal.category.replace('-', ' ').replace('_', ' ')})\n"
        f"Someone with no patient record wrote to the bot: \u201c{_quote(text)}\u201d\n"
        "They were sent the crisis line and the emergency number and asked to contact the"
        " clinic. Afterglow has no name, code or number for them. If someone contacts the"
        " clinic about this message, please treat it as urgent."
    )


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
        # their Telegram id. When each last told the staff.
        self._reference_key = secrets.token_bytes(16)
        self._strangers_told: dict[str, datetime] = {}

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
        try:
            patient = await self._storage.patients.by_user(user_id)
        finally:
            reply = crisis_reply(self._contacts, care_team_told=patient is not None)
            if self._messenger is not None:
                await self._messenger.send_now(chat_id, reply)
        if patient is None:
            # No patient record: the resources went out at once, and a human is still told.
            log.warning("crisis.signal_unenrolled category=%s", signal.category)
            return await self._tell_staff_about_stranger(user_id, text, signal)
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
        return f"ref {digest.hexdigest()[:6].upper()}"

    async def _tell_staff_about_stranger(
        self, user_id: int, text: str, signal: CrisisSignal
    ) -> bool:
        """Tell the staff chat at once, at most every STRANGER_ALERT_EVERY per person."""
        if self._messenger is None:
            return False
        now = self._clock.now()
        self._strangers_told = {
            reference: at
            for reference, at in self._strangers_told.items()
            if now - at < STRANGER_ALERT_EVERY
        }
        reference = self.stranger_reference(user_id)
        if reference in self._strangers_told:
            log.warning("crisis.stranger_staff_message skipped=recently_told")
            return False
        try:
            chat_id = await self._alerts.staff_chat_id()
        except Exception:
            log.exception("crisis.staff_chat_unreadable")
            chat_id = self._alerts.configured_staff_chat_id
        sent = await self._messenger.send_now(
            chat_id, stranger_alert_text(reference, text, signal)
        )
        if sent:
            self._strangers_told[reference] = now
        log.warning("crisis.stranger_staff_message sent=%s", sent)
        return sent

    async def _tell_staff_directly(self, text: str) -> None:
        """Send an urgent text to the configured staff chat without the database."""
        if self._messenger is None:
            return
        note = "\n\n(Could not be stored: no buttons or reminders. Please act on it now.)"
        sent = await self._messenger.send_now(self._alerts.configured_staff_chat_id, text + note)
        log.warning("crisis.direct_staff_message sent=%s", sent)

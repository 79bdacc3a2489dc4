"""Crisis safety: any sign of suicidality reaches the patient's resources and a human at once."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.clock import Clock
from bot.domain.codes import Urgency
from bot.domain.crisis import CrisisDetector, CrisisSignal
from bot.domain.text import clean_text
from bot.services.alerts import AlertService
from bot.services.ports import Wording
from bot.services.urgent import UrgentOutbox
from storage import Storage

log = logging.getLogger(__name__)

# Someone with no patient record: the first crisis message in this window is a full URGENT
# message to the staff, later ones are follow-ups with their words, up to a cap per window
# (they get the crisis resources every time).
STRANGER_WINDOW = timedelta(minutes=30)
STRANGER_FOLLOW_UPS = 5
# And overall: at most this many staff messages about people with no record per window,
# so a flood of them cannot crowd out a patient's alert; the rest go in one digest.
STRANGERS_WINDOW = timedelta(minutes=10)
STRANGERS_MAX = 10


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
        outbox: UrgentOutbox,
        wording: Wording,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._detector = detector
        self._alerts = alerts
        self._outbox = outbox
        self._wording = wording
        # References for people with no patient record: stable while the bot runs, and not
        # their Telegram id.
        self._reference_key = secrets.token_bytes(16)
        self._strangers: dict[str, _Window] = {}
        self._overall = _Window(started=clock.now())
        self._digest: list[tuple[str, str]] = []

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
        text = clean_text(text)
        patient = None
        unreadable = True
        try:
            patient = await self._storage.patients.by_user(user_id)
            unreadable = False
        except Exception:
            log.exception("crisis.lookup_failed")
        finally:
            reply = self._wording.crisis_reply(care_team_told=patient is not None)
            await self._outbox.send(chat_id, reply, Urgency.CRISIS_REPLY)
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
            await self._tell_staff_directly(
                self._wording.not_stored(alert_text), Urgency.STAFF_ABOUT_PATIENT
            )
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
        if not self._within_overall_cap(now):
            self._digest.append((reference, text))
            log.warning("crisis.stranger_staff_message deferred=overall_cap")
            return False
        return await self._tell_staff_directly(message, Urgency.STAFF_ABOUT_STRANGER)

    def _within_overall_cap(self, now: datetime) -> bool:
        if now - self._overall.started >= STRANGERS_WINDOW:
            self._overall = _Window(started=now)
        if self._overall.follow_ups >= STRANGERS_MAX:
            return False
        self._overall.follow_ups += 1
        return True

    async def flush_digest(self) -> bool:
        """Send the staff one message with what the overall cap held back, once its window ends."""
        now = self._clock.now()
        if not self._digest or now - self._overall.started < STRANGERS_WINDOW:
            return False
        entries, self._digest = self._digest, []
        self._overall = _Window(started=now, follow_ups=1)
        return await self._tell_staff_directly(
            self._wording.stranger_digest(entries), Urgency.STAFF_ABOUT_STRANGER
        )

    async def _tell_staff_directly(self, text: str, urgency: Urgency) -> bool:
        """Send an urgent text to the staff chat without an alert; retried until sent."""
        sent = await self._outbox.send(None, text, urgency)
        log.warning("crisis.direct_staff_message sent=%s", sent)
        return sent

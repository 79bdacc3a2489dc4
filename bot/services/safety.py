"""Crisis safety: any sign of suicidality reaches the patient's resources and a human at once."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.clock import Clock
from bot.domain.codes import AlertKind, QuestionReason, Urgency
from bot.domain.crisis import Assessment, CrisisNet, Layer
from bot.domain.entities import Patient
from bot.domain.text import clean_text
from bot.services.alerts import AlertService
from bot.services.ports import Wording
from bot.services.questions import QuestionService
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
        net: CrisisNet,
        alerts: AlertService,
        outbox: UrgentOutbox,
        questions: QuestionService,
        wording: Wording,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._net = net
        self._questions = questions
        self._alerts = alerts
        self._outbox = outbox
        self._wording = wording
        # References for people with no patient record: stable while the bot runs, and not
        # their Telegram id.
        self._reference_key = secrets.token_bytes(16)
        self._strangers: dict[str, _Window] = {}
        self._overall = _Window(started=clock.now())
        self._digest: list[tuple[str, str]] = []

    def assess(self, text: str) -> Assessment:
        """Return what the crisis net makes of a message's words."""
        return self._net.assess(text)

    async def respond(
        self,
        *,
        user_id: int,
        chat_id: int,
        text: str,
        assessment: Assessment,
        update_id: int | None,
    ) -> bool:
        """Act on a message by its layer; True when the message was fully answered here.

        URGENT: resources and an URGENT alert at once. CONCERN: the direct question to a
        patient and a note to the staff (someone with no record gets the urgent way).
        REVIEW: a note for the staff, and the message is handled as usual.
        """
        if assessment.layer is Layer.URGENT:
            await self.escalate(
                user_id=user_id,
                chat_id=chat_id,
                text=text,
                assessment=assessment,
                update_id=update_id,
            )
            return True
        if assessment.layer is Layer.CONCERN:
            await self._concern(user_id, chat_id, clean_text(text), assessment, update_id)
            return True
        if assessment.layer is Layer.REVIEW:
            await self._review(user_id, clean_text(text), assessment)
        return False

    async def _concern(
        self,
        user_id: int,
        chat_id: int,
        text: str,
        assessment: Assessment,
        update_id: int | None,
    ) -> None:
        try:
            patient = await self._storage.patients.by_user(user_id)
            if patient is not None:
                note = self._wording.review_note(patient, text, assessment.category, asked=True)
                await self._questions.ask(
                    patient,
                    chat_id=chat_id,
                    reason=QuestionReason.WORDS,
                    staff_note=note,
                    update_id=update_id,
                )
                log.warning("crisis.concern code=%s", patient.code)
                return
        except Exception:
            log.exception("crisis.concern_failed")
        # No record, or the question could not be kept: the urgent way, never nothing.
        await self.escalate(
            user_id=user_id, chat_id=chat_id, text=text, assessment=assessment, update_id=update_id
        )

    async def _review(self, user_id: int, text: str, assessment: Assessment) -> None:
        patient = await self._storage.patients.by_user(user_id)
        if patient is None:
            # About someone else, or long ago, from someone who is not a patient: the
            # clinic has no one to review it for.
            log.info("crisis.review_without_record")
            return
        await self._alerts.raise_plain(
            patient,
            kind=AlertKind.REVIEW,
            text=self._wording.review_note(patient, text, assessment.category, asked=False),
            remind_after=None,
        )
        log.info("crisis.review code=%s", patient.code)

    async def escalate(
        self,
        *,
        user_id: int,
        chat_id: int,
        text: str,
        assessment: Assessment,
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
            reply = self._wording.crisis_reply(
                care_team_told=patient is not None, acted=assessment.acted
            )
            await self._outbox.send(chat_id, reply, Urgency.CRISIS_REPLY)
        category = assessment.category or "unspecified"
        if patient is None:
            # No patient record (or none readable): the resources went out at once, and a
            # human is still told.
            log.warning(
                "crisis.signal_without_record category=%s unreadable=%s",
                category,
                unreadable,
            )
            return await self._tell_staff_about_stranger(
                user_id, text, category, unreadable=unreadable
            )
        log.warning("crisis.signal code=%s category=%s", patient.code, category)
        return await self._alert_about(patient, text, category, update_id)

    async def _alert_about(
        self, patient: Patient, text: str, category: str, update_id: int | None
    ) -> bool:
        """Keep the words and the URGENT alert together, and send the alert at once."""
        alert_text = self._wording.crisis_alert(patient, text, category, follow_up=False)
        try:
            alert = await self._alerts.store_crisis(
                patient,
                words=text,
                text=alert_text,
                follow_up_text=self._wording.crisis_alert(patient, text, category, follow_up=True),
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
        self, user_id: int, text: str, category: str, *, unreadable: bool
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
                reference, text, category, unreadable=unreadable
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

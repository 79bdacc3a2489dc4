"""Mood answers, notes and extra check-ins from patients."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum, auto

from bot.domain.clock import Clock
from bot.domain.entities import AnswerOutcome, Checkin, Patient, PatientStatus
from storage import Storage

log = logging.getLogger(__name__)

_SCORE = re.compile(r"\s*(10|0?[0-9])\s*(?:/\s*10)?\s*")
MAX_NOTE = 4096


def parse_score(text: str) -> int | None:
    """Return the 0-10 score in a typed answer such as '7' or '7/10', else None."""
    match = _SCORE.fullmatch(text)
    return int(match.group(1)) if match else None


class TextOutcome(Enum):
    """What a free-text message from a patient turned out to be."""

    NOT_ENROLLED = auto()
    CONSENT_NEEDED = auto()
    STOPPED = auto()
    ANSWER_STORED = auto()
    DUPLICATE = auto()
    REPROMPT = auto()
    NOTE_STORED = auto()
    NO_OPEN_CHECKIN = auto()
    UNRECOGNISED = auto()


@dataclass(frozen=True, slots=True)
class TextResult:
    """The outcome of a patient's text, with the check-in it concerned."""

    outcome: TextOutcome
    checkin: Checkin | None = None
    reactivated: bool = False


@dataclass(frozen=True, slots=True)
class ButtonResult:
    """The outcome of a mood button press."""

    outcome: AnswerOutcome
    checkin: Checkin | None


class CheckinService:
    """Stores what patients answer, exactly once per Telegram update."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock
        self._listeners: list[Callable[[int], Awaitable[None]]] = []

    def on_answer(self, listener: Callable[[int], Awaitable[None]]) -> None:
        """Call listener with the patient id after every stored answer (the trend detector)."""
        self._listeners.append(listener)

    async def answered(self, patient_id: int) -> None:
        """Run the answer listeners (the detector); call after the patient's confirmation.

        Handlers call this once they have confirmed the answer, so that anything the
        detector sends (a staff alert, a message to the patient) follows the confirmation.
        """
        for listener in self._listeners:
            try:
                await listener(patient_id)
            except Exception:
                # The answer is stored and confirmed whatever happens downstream.
                log.exception("checkin.answer_listener_failed")

    async def patient_for(self, user_id: int) -> Patient | None:
        """Return the patient bound to a Telegram user."""
        return await self._storage.patients.by_user(user_id)

    async def answer_button(
        self, *, user_id: int, checkin_id: int, score: int, update_id: int | None
    ) -> ButtonResult:
        """Store a score from a mood button; the check-in must belong to this user."""
        result = await self._storage.checkins.answer(
            checkin_id, user_id=user_id, score=score, now=self._clock.now(), update_id=update_id
        )
        if result.outcome is AnswerOutcome.STORED and result.checkin is not None:
            log.info("checkin.answered checkin=%d via=button", checkin_id)
        return ButtonResult(result.outcome, result.checkin)

    async def handle_text(self, *, user_id: int, text: str, update_id: int | None) -> TextResult:
        """Treat a patient's text as an answer, a note, or something to re-prompt."""
        context = await self._storage.patients.text_context(user_id, update_id)
        if context is None:
            return TextResult(TextOutcome.NOT_ENROLLED)
        patient = context.patient
        if patient.status is PatientStatus.CONSENT_PENDING:
            return TextResult(TextOutcome.CONSENT_NEEDED)
        if patient.status is PatientStatus.STOPPED:
            return TextResult(TextOutcome.STOPPED)
        if context.already_seen:
            return TextResult(TextOutcome.DUPLICATE)
        reactivated = False
        if patient.status is PatientStatus.UNREACHABLE:
            reactivated = (
                await self._storage.patients.set_status(
                    patient.id,
                    PatientStatus.ACTIVE,
                    now=self._clock.now(),
                    only_from={PatientStatus.UNREACHABLE},
                )
                is not None
            )
        score = parse_score(text)
        open_id = context.open_checkin_id
        if open_id is not None and score is not None:
            result = await self._storage.checkins.answer(
                open_id,
                patient_id=patient.id,
                score=score,
                now=self._clock.now(),
                update_id=update_id,
            )
            if result.outcome is AnswerOutcome.DUPLICATE:
                return TextResult(TextOutcome.DUPLICATE, result.checkin, reactivated)
            if result.outcome is AnswerOutcome.STORED:
                log.info("checkin.answered code=%s checkin=%d via=text", patient.code, open_id)
                return TextResult(TextOutcome.ANSWER_STORED, result.checkin, reactivated)
            # The check-in closed between reading and answering: as if none were open.
            open_id = None
        stripped = text.strip()
        if patient.awaiting_note_checkin_id is not None and stripped:
            stored = await self._storage.checkins.add_note(
                patient_id=patient.id,
                checkin_id=patient.awaiting_note_checkin_id,
                text=stripped[:MAX_NOTE],
                now=self._clock.now(),
                update_id=update_id,
            )
            if stored:
                log.info("note.stored code=%s", patient.code)
            return TextResult(
                TextOutcome.NOTE_STORED if stored else TextOutcome.DUPLICATE, None, reactivated
            )
        if open_id is not None:
            return TextResult(TextOutcome.REPROMPT, None, reactivated)
        if score is not None:
            return TextResult(TextOutcome.NO_OPEN_CHECKIN, None, reactivated)
        return TextResult(TextOutcome.UNRECOGNISED, None, reactivated)

    async def skip_note(self, *, user_id: int) -> bool:
        """Stop waiting for a note; False if none was awaited."""
        patient = await self._storage.patients.by_user(user_id)
        if patient is None or patient.awaiting_note_checkin_id is None:
            return False
        await self._storage.patients.set_awaiting_note(patient.id, None)
        return True

    async def open_checkin(self, patient: Patient) -> Checkin | None:
        """Return the patient's open, unanswered check-in."""
        return await self._storage.checkins.open_for_patient(patient.id)

    async def seen_extra_request(self, update_id: int) -> bool:
        """Return whether this /checkin update already created its check-in (a redelivery)."""
        return await self._storage.checkins.created_by_update(update_id)

    async def create_extra(self, patient: Patient, *, update_id: int | None) -> Checkin | None:
        """Create an extra check-in the patient asked for; None for a repeated update."""
        checkin = await self._storage.checkins.create_extra(
            patient.id, now=self._clock.now(), update_id=update_id
        )
        if checkin is not None:
            log.info("checkin.extra code=%s checkin=%d", patient.code, checkin.id)
        return checkin

    async def confirm_sent(self, checkin: Checkin, message_id: int) -> None:
        """Record that an extra check-in prompt reached Telegram."""
        await self._storage.checkins.confirm_sent(checkin.id, message_id=message_id)

    async def extra_uncertain(self, checkin: Checkin, reason: str) -> None:
        """Record that an extra check-in prompt may or may not have arrived."""
        await self._storage.checkins.mark_uncertain(checkin.id, reason=reason)

    async def extra_not_sent(self, checkin: Checkin, reason: str) -> None:
        """Record that an extra check-in prompt could not be sent."""
        await self._storage.checkins.fail(checkin.id, reason=reason, now=self._clock.now())

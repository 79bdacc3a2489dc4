"""Mood answers, notes and extra check-ins from patients.

Every stored answer is followed by a review of the patient's trend (the detector), after
the patient's confirmation, so anything the review sends comes after it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum, auto
from typing import Protocol

from bot.domain.clock import Clock
from bot.domain.codes import AnswerOutcome, CheckinKind, PatientStatus
from bot.domain.delivery import Delivered
from bot.domain.entities import NOTE_LIMIT, Checkin, DueCheckin, Patient
from bot.domain.text import clean_text
from bot.services.ports import CheckinSender
from bot.services.prompts import record_prompt, send_prompt
from storage import Storage

log = logging.getLogger(__name__)

_SCORE = re.compile(r"\s*(10|0?[0-9])\s*(?:/\s*10)?\s*")

Acknowledge = Callable[[Checkin], Awaitable[None]]


def parse_score(text: str) -> int | None:
    """Return the 0-10 score in a typed answer such as '7' or '7/10', else None."""
    match = _SCORE.fullmatch(text)
    return int(match.group(1)) if match else None


class TrendReviewer(Protocol):
    """Runs the detector over a patient's answers (the trend service)."""

    async def after_answer(self, checkin: Checkin) -> object:
        """Evaluate the patient after a stored answer (and plan an adaptive check-in)."""
        ...


class LowScoreAsker(Protocol):
    """Asks the direct safety question after a very low score (the question service)."""

    async def after_answer(self, checkin: Checkin, *, update_id: int | None) -> None:
        """Ask if the score calls for it."""
        ...


class ComingBack(Protocol):
    """Tells the staff a patient who was away is back (the silence service)."""

    async def came_back(self, before: Patient, now_active: Patient) -> None:
        """The patient is active again."""
        ...


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


class ExtraOutcome(Enum):
    """What asking for a check-in now (/checkin) did."""

    SENT = auto()
    OPEN_EXISTS = auto()
    REDELIVERED = auto()
    NOT_SENT = auto()


@dataclass(frozen=True, slots=True)
class ExtraResult:
    """The outcome of /checkin, with the check-in to show when one is already open."""

    outcome: ExtraOutcome
    checkin: Checkin | None = None


class CheckinService:
    """Stores what patients answer, exactly once per Telegram update."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        sender: CheckinSender,
        trends: TrendReviewer,
        questions: LowScoreAsker,
        silence: ComingBack | None = None,
        instance: int | None = None,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._instance = instance
        self._sender = sender
        self._trends = trends
        self._questions = questions
        self._silence = silence

    async def patient_for(self, user_id: int) -> Patient | None:
        """Return the patient bound to a Telegram user."""
        return await self._storage.patients.by_user(user_id)

    async def answer_button(
        self,
        *,
        user_id: int,
        checkin_id: int,
        score: int,
        update_id: int | None,
        acknowledge: Acknowledge,
    ) -> ButtonResult:
        """Store a score from a mood button; the check-in must belong to this user.

        A stored answer is acknowledged to the patient, then reviewed.
        """
        result = await self._storage.answers.answer(
            checkin_id, user_id=user_id, score=score, now=self._clock.now(), update_id=update_id
        )
        if result.outcome is AnswerOutcome.STORED and result.checkin is not None:
            log.info("checkin.answered checkin=%d via=button", checkin_id)
            await self._acknowledge_and_review(result.checkin, acknowledge, update_id)
        return ButtonResult(result.outcome, result.checkin)

    async def _acknowledge_and_review(
        self, checkin: Checkin, acknowledge: Acknowledge, update_id: int | None
    ) -> None:
        try:
            await acknowledge(checkin)
        finally:
            try:
                # A very low score is met with the direct question at once.
                await self._questions.after_answer(checkin, update_id=update_id)
            except Exception:
                log.exception("checkin.question_failed")
            try:
                await self._trends.after_answer(checkin)
            except Exception:
                # The answer is stored and confirmed whatever happens downstream.
                log.exception("checkin.review_failed")

    async def handle_text(
        self, *, user_id: int, text: str, update_id: int | None, acknowledge: Acknowledge
    ) -> TextResult:
        """Treat a patient's text as an answer, a note, or something to re-prompt.

        A stored answer is acknowledged to the patient, then reviewed.
        """
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
        reactivated = await self._reactivate(patient)
        score = parse_score(text)
        if context.open_checkin_id is not None and score is not None:
            answered = await self._answer_text(
                patient, context.open_checkin_id, score, update_id, reactivated
            )
            if answered is not None:
                if answered.outcome is TextOutcome.ANSWER_STORED and answered.checkin:
                    await self._acknowledge_and_review(answered.checkin, acknowledge, update_id)
                return answered
            # The check-in closed between reading and answering: as if none were open.
            return await self._not_an_answer(patient, text, None, update_id, reactivated)
        return await self._not_an_answer(
            patient, text, context.open_checkin_id, update_id, reactivated
        )

    async def _reactivate(self, patient: Patient) -> bool:
        if patient.status is not PatientStatus.UNREACHABLE:
            return False
        updated = await self._storage.patients.set_status(
            patient.id,
            PatientStatus.ACTIVE,
            now=self._clock.now(),
            only_from={PatientStatus.UNREACHABLE},
        )
        if updated is not None and self._silence is not None:
            await self._silence.came_back(patient, updated)
        return updated is not None

    async def _answer_text(
        self,
        patient: Patient,
        open_id: int,
        score: int,
        update_id: int | None,
        reactivated: bool,
    ) -> TextResult | None:
        result = await self._storage.answers.answer(
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
        return None

    async def _not_an_answer(
        self,
        patient: Patient,
        text: str,
        open_id: int | None,
        update_id: int | None,
        reactivated: bool,
    ) -> TextResult:
        stripped = clean_text(text).strip()
        if patient.awaiting_note_checkin_id is not None and stripped:
            stored = await self._storage.answers.add_note(
                patient_id=patient.id,
                checkin_id=patient.awaiting_note_checkin_id,
                text=stripped[:NOTE_LIMIT],
                now=self._clock.now(),
                update_id=update_id,
            )
            if stored:
                log.info("note.stored code=%s", patient.code)
            outcome = TextOutcome.NOTE_STORED if stored else TextOutcome.DUPLICATE
            return TextResult(outcome, None, reactivated)
        if open_id is not None:
            return TextResult(TextOutcome.REPROMPT, None, reactivated)
        if parse_score(text) is not None:
            return TextResult(TextOutcome.NO_OPEN_CHECKIN, None, reactivated)
        return TextResult(TextOutcome.UNRECOGNISED, None, reactivated)

    async def skip_note(self, *, user_id: int) -> bool:
        """Stop waiting for a note; False if none was awaited."""
        patient = await self._storage.patients.by_user(user_id)
        if patient is None or patient.awaiting_note_checkin_id is None:
            return False
        await self._storage.patients.set_awaiting_note(patient.id, None)
        return True

    async def request_extra(self, patient: Patient, *, update_id: int | None) -> ExtraResult:
        """Send a check-in the patient asked for now, by the dispatcher's rule.

        An open check-in is shown again instead of opening a second one; the same update
        delivered twice sends one prompt.
        """
        if patient.chat_id is None:
            return ExtraResult(ExtraOutcome.NOT_SENT)
        open_checkin = await self._storage.checkins.open_for_patient(patient.id)
        if open_checkin is not None:
            if update_id is not None and await self._storage.checkins.created_by_update(update_id):
                return ExtraResult(ExtraOutcome.REDELIVERED)
            return ExtraResult(ExtraOutcome.OPEN_EXISTS, open_checkin)
        checkin = await self._storage.checkins.create_extra(
            patient.id, now=self._clock.now(), update_id=update_id, by=self._instance
        )
        if checkin is None:
            # A repeated update, or a planned check-in went out meanwhile: show that one.
            sent_meanwhile = await self._storage.checkins.open_for_patient(patient.id)
            if sent_meanwhile is not None and sent_meanwhile.kind is CheckinKind.PLANNED:
                return ExtraResult(ExtraOutcome.OPEN_EXISTS, sent_meanwhile)
            return ExtraResult(ExtraOutcome.REDELIVERED)
        log.info("checkin.extra code=%s checkin=%d", patient.code, checkin.id)
        item = DueCheckin(checkin, patient.chat_id, patient.code)
        outcome = await send_prompt(self._sender, item)
        await record_prompt(self._storage, item, outcome, now=self._clock.now(), may_retry=False)
        sent = isinstance(outcome, Delivered)
        return ExtraResult(ExtraOutcome.SENT if sent else ExtraOutcome.NOT_SENT, checkin)

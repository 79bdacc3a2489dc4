"""The direct question: asking a patient plainly about thoughts of suicide or self-harm.

When a patient's words may be a signal but are not explicit, or a mood answer is very low,
the bot does not decide alone that it was nothing: it asks the patient, in caring words,
whether they are having thoughts of ending their life or of harming themselves (asking
does not raise risk; clinicians do it), and tells the staff at once. "Yes" goes the urgent
way; "No" is recorded, thanked and passed on; no answer within an hour of daytime becomes an
alert someone must acknowledge.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum, auto
from zoneinfo import ZoneInfo

from bot.domain.clock import Clock
from bot.domain.codes import AlertKind, QuestionAnswer, QuestionReason, Urgency
from bot.domain.daytime import after_daytime_hours
from bot.domain.delivery import Delivered
from bot.domain.entities import Checkin, Patient, SafetyQuestion
from bot.services.alerts import AlertService
from bot.services.ports import UrgentMessenger, Wording
from bot.services.urgent import UrgentOutbox
from storage import Storage

log = logging.getLogger(__name__)

# A mood answer at or below this is answered with the direct question.
LOW_SCORE = 2
ANSWER_WITHIN = timedelta(hours=1)
UNANSWERED_REPEAT = timedelta(hours=1)
# At most this many unsent questions are tried in one pass; the rest in the next.
UNSENT_PER_PASS = 20
# A question whose send failed is tried again from this much later (the next pass).
RETRY_SEND = timedelta(seconds=10)


class AnswerOutcome(Enum):
    """What pressing Yes or No under the direct question did."""

    YES = auto()
    NO = auto()
    ALREADY = auto()
    INVALID = auto()


@dataclass(frozen=True, slots=True)
class Answered:
    """The outcome of a press, with the patient it concerned."""

    outcome: AnswerOutcome
    patient: Patient | None = None


class QuestionService:
    """Asks the direct question, records the answers and acts on them."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        alerts: AlertService,
        messenger: UrgentMessenger,
        outbox: UrgentOutbox,
        wording: Wording,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._alerts = alerts
        self._messenger = messenger
        self._outbox = outbox
        self._wording = wording

    async def ask(
        self,
        patient: Patient,
        *,
        chat_id: int,
        reason: QuestionReason,
        staff_note: str,
        update_id: int | None,
    ) -> None:
        """Ask the patient directly and tell the staff; once per Telegram update.

        Raises when the question cannot be stored; the caller then takes the urgent way.
        """
        now = self._clock.now()
        question = await self._storage.questions.ask(
            patient_id=patient.id,
            chat_id=chat_id,
            reason=reason,
            now=now,
            escalate_at=after_daytime_hours(now, ANSWER_WITHIN, ZoneInfo(patient.timezone)),
            update_id=update_id,
        )
        if question is None:
            return
        log.warning("safety.question_asked code=%s reason=%s", patient.code, reason)
        await self._send(question)
        await self._alerts.raise_plain(
            patient, kind=AlertKind.REVIEW, text=staff_note, remind_after=None
        )

    async def after_answer(self, checkin: Checkin, *, update_id: int | None) -> None:
        """Ask the direct question after a very low mood answer (0, 1 or 2)."""
        if checkin.score is None or checkin.score > LOW_SCORE:
            return
        patient = await self._storage.patients.get(checkin.patient_id)
        if patient is None or patient.chat_id is None:
            return
        await self.ask(
            patient,
            chat_id=patient.chat_id,
            reason=QuestionReason.LOW_SCORE,
            staff_note=self._wording.low_score_note(patient, checkin.score),
            update_id=update_id,
        )

    async def answer(self, *, user_id: int, question_id: int, yes: bool) -> Answered:
        """Record a press on Yes or No and act on it."""
        answer = QuestionAnswer.YES if yes else QuestionAnswer.NO
        question = await self._storage.questions.answer(
            question_id, user_id=user_id, answer=answer, now=self._clock.now()
        )
        if question is None:
            existing = await self._storage.questions.get(question_id)
            mine = await self._storage.patients.by_user(user_id)
            if existing is not None and mine is not None and existing.patient_id == mine.id:
                return Answered(AnswerOutcome.ALREADY, mine)
            return Answered(AnswerOutcome.INVALID)
        patient = await self._storage.patients.get(question.patient_id)
        if patient is None:
            return Answered(AnswerOutcome.INVALID)
        log.warning("safety.question_answered code=%s answer=%s", patient.code, answer)
        text = self._wording.question_answered(patient, answer)
        if yes:
            await self._outbox.send(
                question.chat_id,
                self._wording.crisis_reply(care_team_told=True),
                Urgency.CRISIS_REPLY,
            )
            await self._alerts.raise_urgent(patient, text=text)
            return Answered(AnswerOutcome.YES, patient)
        await self._alerts.raise_plain(
            patient, kind=AlertKind.REVIEW, text=text, remind_after=None
        )
        return Answered(AnswerOutcome.NO, patient)

    async def tend(self) -> int:
        """Send questions that did not go out, and raise alerts for unanswered ones.

        Each unsent one is claimed just before its send, so that no other instance (nor the
        asker, who stores a question claimed and sends it at once) sends it meanwhile and
        the lease covers one send; a failed send is due again after RETRY_SEND, so it waits
        for the next pass instead of being retried in this one.
        """
        for _ in range(UNSENT_PER_PASS):
            claimed = await self._storage.questions.claim_unsent(self._clock.now(), limit=1)
            if not claimed:
                break
            await self._send(claimed[0])
        raised = 0
        for question in await self._storage.questions.unanswered_due(self._clock.now()):
            if await self._escalate(question):
                raised += 1
        return raised

    async def escalate_open(self, patient_id: int) -> int:
        """Raise the unanswered-question alert now for each of a patient's open questions.

        Used before their record goes (a deletion): an open question must not vanish unseen.
        """
        raised = 0
        for question in await self._storage.questions.recent(patient_id, limit=20):
            if (
                question.answer is None
                and not question.escalated
                and await self._escalate(question)
            ):
                raised += 1
        return raised

    async def _escalate(self, question: SafetyQuestion) -> bool:
        patient = await self._storage.patients.get(question.patient_id)
        if patient is None or not await self._storage.questions.escalated(
            question.id, now=self._clock.now()
        ):
            return False
        log.warning("safety.question_unanswered code=%s", patient.code)
        await self._alerts.raise_plain(
            patient,
            kind=AlertKind.QUESTION_UNANSWERED,
            text=self._wording.question_unanswered(patient, question.asked_at),
            remind_after=UNANSWERED_REPEAT,
            remind_every=UNANSWERED_REPEAT,
        )
        return True

    async def _send(self, question: SafetyQuestion) -> None:
        outcome = await self._messenger.send_question(question.chat_id, question.id)
        if isinstance(outcome, Delivered):
            await self._storage.questions.sent(question.id, now=self._clock.now())
        else:
            await self._storage.questions.not_sent(
                question.id, retry_at=self._clock.now() + RETRY_SEND
            )

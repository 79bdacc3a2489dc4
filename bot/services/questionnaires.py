"""Questionnaires in the product: PHQ-9 and GAD-7, one item at a time, planned and on demand.

Every step is stored before anything is sent, and each press names the item it answers,
so a double press, an old button or a press after expiry changes nothing. The PHQ-9's
safety item (thoughts of being better off dead or of self-harm) answered above zero takes
the urgent path at once, before the questionnaire ends: the crisis reply to the patient and
an URGENT alert to the staff. A completed PHQ-9 feeds the detector (a rise of five from the
best since the infusion, or a crossing to ten) under the usual one-episode rule.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum, auto

from bot.domain.clock import Clock
from bot.domain.codes import (
    EpisodeKind,
    PatientStatus,
    QuestionnaireOrigin,
    QuestionnaireStatus,
    Urgency,
)
from bot.domain.entities import Patient, QuestionnaireResponse
from bot.domain.questionnaire_outcomes import questionnaire_finding
from bot.domain.questionnaires import AnswerError, Progress, Questionnaire
from bot.services.alerts import AlertService
from bot.services.ports import Wording
from bot.services.trends import EpisodeListener
from bot.services.urgent import UrgentOutbox
from storage import Storage

log = logging.getLogger(__name__)

# The questionnaire whose totals the detector reads.
PHQ9 = "phq9"


class StepKind(Enum):
    """What the patient sees after a command or a press."""

    ASK = auto()
    """The current item of `response` (a new, resumed or advanced administration)."""
    DONE = auto()
    """The administration was completed: `response` holds the total and band."""
    ALREADY_DONE = auto()
    """A press on an administration completed before."""
    EXPIRED = auto()
    """A press on an administration that expired unfinished."""
    NOT_ENROLLED = auto()
    """The user is not a patient in follow-up."""
    UNKNOWN = auto()
    """No such questionnaire, or an administration that is not theirs."""
    REPEATED = auto()
    """The same Telegram update again: it was handled, nothing more to show."""


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of a command or press, and what to show."""

    kind: StepKind
    response: QuestionnaireResponse | None = None
    questionnaire: Questionnaire | None = None
    resumed: bool = False

    @property
    def progress(self) -> Progress:
        """Return the administration's progress (only for steps with a response)."""
        if self.response is None or self.questionnaire is None:
            raise ValueError("this step has no administration")
        return Progress(self.questionnaire, self.response.answers)


# Who may answer: patients in follow-up (a paused patient may still ask for one).
_MAY_ANSWER = (PatientStatus.ACTIVE, PatientStatus.PAUSED)


class QuestionnaireService:
    """Starts, resumes, advances and completes administrations; takes the urgent path."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        questionnaires: Mapping[str, Questionnaire],
        expire_after: timedelta,
        alerts: AlertService,
        outbox: UrgentOutbox,
        wording: Wording,
        on_episode: Sequence[EpisodeListener] = (),
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._questionnaires = dict(questionnaires)
        self._expire_after = expire_after
        self._alerts = alerts
        self._outbox = outbox
        self._wording = wording
        self._listeners = tuple(on_episode)

    def questionnaire(self, instrument: str) -> Questionnaire | None:
        """Return a questionnaire by id."""
        return self._questionnaires.get(instrument)

    async def start(
        self,
        patient: Patient,
        instrument: str,
        *,
        origin: QuestionnaireOrigin,
        update_id: int | None,
    ) -> Step:
        """Start an administration, or resume the one in progress (whichever it is)."""
        questionnaire = self._questionnaires.get(instrument)
        if questionnaire is None or patient.chat_id is None:
            return Step(StepKind.UNKNOWN)
        if update_id is not None and await self._storage.questionnaires.by_update(update_id):
            return Step(StepKind.REPEATED)
        await self.expire_due()
        open_one = await self._storage.questionnaires.in_progress(patient.id)
        if open_one is None:
            open_one = await self._storage.questionnaires.start(
                patient_id=patient.id,
                chat_id=patient.chat_id,
                instrument=instrument,
                origin=origin,
                now=self._clock.now(),
                expire_after=self._expire_after,
                update_id=update_id,
            )
            if open_one is not None:
                log.info(
                    "questionnaire.started code=%s instrument=%s origin=%s",
                    patient.code,
                    instrument,
                    origin,
                )
                return self._ask(open_one)
            # Another press of the same command got there first, or it was a redelivery.
            open_one = await self._storage.questionnaires.in_progress(patient.id)
            if open_one is None:
                return Step(StepKind.UNKNOWN)
        return self._ask(open_one, resumed=True)

    async def request(self, *, user_id: int, instrument: str, update_id: int | None) -> Step:
        """Start or resume a questionnaire the patient asked for (/phq9, /gad7)."""
        patient = await self._storage.patients.by_user(user_id)
        if patient is None or patient.status not in _MAY_ANSWER:
            return Step(StepKind.NOT_ENROLLED)
        return await self.start(
            patient, instrument, origin=QuestionnaireOrigin.REQUESTED, update_id=update_id
        )

    async def answer(self, *, user_id: int, response_id: int, index: int, value: int) -> Step:
        """Record a press on an option of item `index`; take the urgent path if it says so.

        The safety item is looked at first, whatever else is true of the press (an expired
        administration, a stopped patient, an old copy of the item): the patient said it,
        so a human hears it.
        """
        patient, response = await self._fetch(user_id, response_id)
        await self._safety_first(patient, response, index, value)
        found = self._answerable(patient, response)
        if isinstance(found, Step):
            return found
        _patient, current, questionnaire = found
        progress = Progress(questionnaire, current.answers)
        if progress.index != index:
            return self._ask(current, resumed=True)
        try:
            questionnaire.check(index, value)
        except AnswerError:
            return self._ask(current, resumed=True)
        after = progress.answer(value)
        following = after.next_item
        if following is not None and following.optional and not any(after.answered().values()):
            # "If you checked off any problems...": nothing was, so it is not asked.
            after = after.skip()
        return await self._store(current, questionnaire, after)

    async def skip(self, *, user_id: int, response_id: int, index: int) -> Step:
        """Skip item `index`, which must be optional (the PHQ-9's functional question)."""
        found = await self._mine(user_id, response_id)
        if isinstance(found, Step):
            return found
        _patient, response, questionnaire = found
        progress = Progress(questionnaire, response.answers)
        item = progress.next_item
        if progress.index != index or item is None or not item.optional:
            return self._ask(response, resumed=True)
        return await self._store(response, questionnaire, progress.skip())

    async def back(self, *, user_id: int, response_id: int, index: int) -> Step:
        """Go back from item `index` to the one before it, undoing its answer."""
        found = await self._mine(user_id, response_id)
        if isinstance(found, Step):
            return found
        _patient, response, questionnaire = found
        progress = Progress(questionnaire, response.answers)
        if progress.index != index or index == 0:
            return self._ask(response, resumed=True)
        return await self._store(response, questionnaire, progress.back())

    async def expire_due(self) -> int:
        """Mark unfinished administrations past their window as expired (kept, incomplete)."""
        expired = await self._storage.questionnaires.expire_due(self._clock.now())
        for response in expired:
            log.info(
                "questionnaire.expired instrument=%s answered=%d",
                response.instrument,
                len(response.answers),
            )
        return len(expired)

    async def _mine(
        self, user_id: int, response_id: int
    ) -> Step | tuple[Patient, QuestionnaireResponse, Questionnaire]:
        return self._answerable(*await self._fetch(user_id, response_id))

    async def _fetch(
        self, user_id: int, response_id: int
    ) -> tuple[Patient | None, QuestionnaireResponse | None]:
        """Expire what is due, then read the presser and the administration (once)."""
        await self.expire_due()
        response = await self._storage.questionnaires.get(response_id)
        patient = await self._storage.patients.by_user(user_id)
        return patient, response

    def _answerable(
        self, patient: Patient | None, response: QuestionnaireResponse | None
    ) -> Step | tuple[Patient, QuestionnaireResponse, Questionnaire]:
        """Return what a press may act on, or the step that says why it may not."""
        if response is None or patient is None or response.patient_id != patient.id:
            return Step(StepKind.UNKNOWN)
        questionnaire = self._questionnaires.get(response.instrument)
        if questionnaire is None:
            return Step(StepKind.UNKNOWN)
        if response.total is not None:
            return Step(StepKind.ALREADY_DONE, response, questionnaire)
        if response.completed_at is None and response.expires_at <= self._clock.now():
            return Step(StepKind.EXPIRED, response, questionnaire)
        if patient.status not in _MAY_ANSWER:
            return Step(StepKind.NOT_ENROLLED)
        if response.status is not QuestionnaireStatus.IN_PROGRESS:
            return Step(StepKind.EXPIRED, response, questionnaire)
        return patient, response, questionnaire

    async def _store(
        self, response: QuestionnaireResponse, questionnaire: Questionnaire, after: Progress
    ) -> Step:
        now = self._clock.now()
        repo = self._storage.questionnaires
        if not after.is_complete:
            moved = await repo.advance(
                response.id, expected=response.answers, answers=after.answers, now=now
            )
            return await self._after_race(response.id, questionnaire, moved)
        total = questionnaire.score(after.answered())
        done = await repo.complete(
            response.id,
            expected=response.answers,
            answers=after.answers,
            total=total,
            band=questionnaire.band(total).label,
            now=now,
        )
        if done is None:
            return await self._after_race(response.id, questionnaire, None)
        log.info("questionnaire.completed instrument=%s", done.instrument)
        if done.instrument == PHQ9:
            try:
                await self._review_totals(done)
            except Exception:
                # The result is stored and shown; the trend review of totals runs again at
                # the next PHQ-9. Never an error for an answer that was saved.
                log.exception("questionnaire.review_failed instrument=%s", done.instrument)
        return Step(StepKind.DONE, done, questionnaire)

    async def _after_race(
        self, response_id: int, questionnaire: Questionnaire, moved: QuestionnaireResponse | None
    ) -> Step:
        if moved is not None:
            return self._ask(moved)
        # Another press changed it first (or it expired): show what is true now.
        current = await self._storage.questionnaires.get(response_id)
        if current is None:
            return Step(StepKind.UNKNOWN)
        if current.total is not None:
            return Step(StepKind.ALREADY_DONE, current, questionnaire)
        if current.status is not QuestionnaireStatus.IN_PROGRESS:
            return Step(StepKind.EXPIRED, current, questionnaire)
        return self._ask(current, resumed=True)

    async def _safety_first(
        self,
        patient: Patient | None,
        response: QuestionnaireResponse | None,
        index: int,
        value: int,
    ) -> None:
        if response is None or patient is None or response.patient_id != patient.id:
            return
        questionnaire = self._questionnaires.get(response.instrument)
        if questionnaire is None:
            return
        try:
            if not questionnaire.safety_flag(index, value):
                return
        except AnswerError:
            return
        if not response.safety_alerted:
            await self._urgent(patient, response, questionnaire, index, value)
        elif value > (response.safety_told or 0):
            # Worse than what the staff were told (a new answer after Back): they hear it.
            log.warning("safety.questionnaire_item_worse code=%s", patient.code)
            await self._outbox.send(
                None,
                self._wording.questionnaire_safety_worse(patient, questionnaire, index, value),
                Urgency.STAFF_ABOUT_PATIENT,
            )
            await self._storage.questionnaires.flag_safety(response.id, value)

    async def _urgent(
        self,
        patient: Patient,
        response: QuestionnaireResponse,
        questionnaire: Questionnaire,
        index: int,
        value: int,
    ) -> None:
        """The crisis reply first, then the URGENT alert (or, failing that, the staff told
        directly), and only then the mark that it was done: a failure never leaves it half."""
        log.warning(
            "safety.questionnaire_item code=%s instrument=%s", patient.code, response.instrument
        )
        await self._outbox.send(
            patient.chat_id or response.chat_id,
            self._wording.crisis_reply(care_team_told=True),
            Urgency.CRISIS_REPLY,
        )
        text = self._wording.questionnaire_safety_alert(patient, questionnaire, index, value)
        try:
            await self._alerts.raise_urgent(patient, text=text)
        except Exception:
            log.exception("safety.questionnaire_alert_failed code=%s", patient.code)
            await self._outbox.send(
                None, self._wording.not_stored(text), Urgency.STAFF_ABOUT_PATIENT
            )
        try:
            await self._storage.questionnaires.flag_safety(response.id, value)
        except Exception:
            # Unmarked, a further press may tell the staff again: a duplicate, not a loss.
            log.exception("safety.questionnaire_flag_failed code=%s", patient.code)

    async def _review_totals(self, done: QuestionnaireResponse) -> None:
        patient = await self._storage.patients.get(done.patient_id)
        if patient is None:
            return
        infusion = await self._storage.infusions.latest(patient.id)
        totals = [
            (response.completed_at, response.total)
            for response in await self._storage.questionnaires.completed(patient.id, PHQ9)
            if response.completed_at is not None and response.total is not None
        ]
        finding = questionnaire_finding(
            totals, infusion_at=None if infusion is None else infusion.given_at
        )
        if finding is None:
            return
        explanation = self._wording.questionnaire_explanation(finding)
        alert = await self._alerts.open_episode(
            patient,
            kind=EpisodeKind.DECLINE,
            since=finding.since,
            explanation=explanation,
            text=self._wording.questionnaire_alert(
                patient,
                finding,
                explanation=explanation,
                last_infusion=None if infusion is None else infusion.given_at,
                now=self._clock.now(),
            ),
            detected_at=finding.at,
        )
        if alert is None:
            return
        self._alerts.deliver_soon()
        for listener in self._listeners:
            try:
                await listener(patient, EpisodeKind.DECLINE, alert)
            except Exception:
                log.exception("episode.listener_failed code=%s", patient.code)

    def _ask(self, response: QuestionnaireResponse, *, resumed: bool = False) -> Step:
        return Step(
            StepKind.ASK,
            response,
            self._questionnaires.get(response.instrument),
            resumed=resumed,
        )

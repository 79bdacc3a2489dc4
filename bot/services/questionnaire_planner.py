"""The questionnaire plan at work: each dispatcher pass starts the ones that are due.

The database says what is due (what was started when, the infusions, the check-ins still
open); this pass works out each patient's moment, at their own check-in time on the due
day and after that day's check-in, stores the administration and sends its first item.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.domain.clock import Clock
from bot.domain.codes import QuestionnaireOrigin
from bot.domain.daytime import in_daytime
from bot.domain.delivery import Delivered, NotDelivered, RateLimited, Undeliverable
from bot.domain.entities import QuestionnaireCandidate
from bot.domain.protocol import parse_hhmm
from bot.domain.questionnaire_plan import Due, QuestionnairePlan, next_due, send_moment
from bot.services.ports import QuestionnaireSender
from bot.services.questionnaires import QuestionnaireService, StepKind
from storage import Storage

log = logging.getLogger(__name__)

# At most this many planned questionnaires start in one pass; the rest wait for the next.
PER_PASS = 200


class QuestionnairePlanner:
    """Starts planned questionnaires when they are due."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        service: QuestionnaireService,
        plan: QuestionnairePlan,
        sender: QuestionnaireSender,
        default_time: time,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._service = service
        self._plan = plan
        self._sender = sender
        self._default_time = default_time

    def due_now(
        self, candidates: Sequence[QuestionnaireCandidate], now: datetime
    ) -> list[tuple[int, Due]]:
        """Return, per patient id, the first planned instrument whose moment has come."""
        by_patient: dict[int, list[QuestionnaireCandidate]] = {}
        for candidate in candidates:
            by_patient.setdefault(candidate.patient_id, []).append(candidate)
        chosen: list[tuple[int, Due]] = []
        for patient_id, entries in by_patient.items():
            order = {name: rank for rank, name in enumerate(self._plan.planned)}
            for candidate in sorted(entries, key=lambda entry: order.get(entry.instrument, 99)):
                due = self._due(candidate, now)
                # Never at night: a moment that passed then (an answer at 02:00, a catch-up
                # after downtime) waits for the morning.
                if due.at <= now and in_daytime(now, ZoneInfo(candidate.timezone)):
                    chosen.append((patient_id, due))
                    break
        return chosen

    def _due(self, candidate: QuestionnaireCandidate, now: datetime) -> Due:
        due = next_due(
            self._plan,
            candidate.instrument,
            enrolled_at=candidate.enrolled_at,
            infusions=[] if candidate.last_infusion is None else [candidate.last_infusion],
            last_started=candidate.last_started,
        )
        at = parse_hhmm(candidate.checkin_time or "") or self._default_time
        zone = ZoneInfo(candidate.timezone)
        moment = send_moment(
            due.at, checkin_time=at, tz=zone, strict=due.origin is QuestionnaireOrigin.BASELINE
        )
        if moment.astimezone(zone).date() < now.astimezone(zone).date():
            # Overdue from an earlier day (the check-in stayed open, a night, downtime):
            # today at the patient's own time, not whenever the next pass happens to run.
            moment = send_moment(now, checkin_time=at, tz=zone)
        return Due(due.instrument, due.origin, moment)

    async def tend(self) -> int:
        """Expire what was left unfinished, then start and send what is due; return started."""
        await self._service.expire_due()
        now = self._clock.now()
        candidates = await self._storage.questionnaires.plan_candidates(
            now,
            instruments=self._plan.planned,
            every=self._plan.every,
            after_infusion=self._plan.after_infusion,
        )
        started = 0
        for patient_id, due in self.due_now(candidates, now)[:PER_PASS]:
            if await self._start(patient_id, due):
                started += 1
        return started

    async def _start(self, patient_id: int, due: Due) -> bool:
        patient = await self._storage.patients.get(patient_id)
        if patient is None or patient.chat_id is None:
            return False
        step = await self._service.start(
            patient, due.instrument, origin=due.origin, update_id=None
        )
        if step.kind is not StepKind.ASK or step.response is None or step.resumed:
            return False
        questionnaire = step.questionnaire
        if questionnaire is None:
            return False
        outcome = await self._sender.send_questionnaire(
            patient.chat_id, step.response, questionnaire
        )
        if isinstance(outcome, Delivered):
            return True
        repo = self._storage.questionnaires
        if isinstance(outcome, NotDelivered | RateLimited):
            # It never reached them: forget it, and the next pass plans it again.
            await repo.discard(step.response.id)
        elif isinstance(outcome, Undeliverable):
            # They cannot be reached (the check-ins notice that too): not again every pass.
            await repo.expire(step.response.id, now=self._clock.now())
        log.info("questionnaire.not_sent code=%s outcome=%s", patient.code, type(outcome).__name__)
        return False

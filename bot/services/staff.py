"""What staff see about a patient: summaries and charts, by pseudonymous code only."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.chart import ChartData
from bot.domain.clock import Clock
from bot.domain.codes import CheckinState
from bot.domain.detection import DetectorConfig
from bot.domain.entities import (
    Alert,
    Checkin,
    EpisodeRecord,
    Infusion,
    Patient,
    QuestionnaireResponse,
    SafetyQuestion,
)
from bot.domain.errors import InputError, InputProblem
from bot.services.enrolment import normalise_code
from bot.services.levels import assess_inputs, detector_inputs
from bot.services.ports import ChartRenderer
from storage import Storage

RECENT_NOTES = 5
RECENT_SCORES = 10
CHART_LOOKBACK = timedelta(days=120)
# The chart starts a little before the earlier infusion, so its line is not on the edge.
CHART_MARGIN = timedelta(hours=12)
CHART_OUTCOMES = 400
CHART_ALERTS = 50


@dataclass(frozen=True, slots=True)
class PatientSummary:
    """Everything /patient shows about one patient."""

    patient: Patient
    infusions: list[Infusion]
    recent: list[Checkin]
    notes: list[tuple[datetime, str]]
    open_episodes: list[EpisodeRecord]
    answered: int
    missed: int
    adaptive: Checkin | None = None
    questions: list[SafetyQuestion] = field(default_factory=list)
    # Unresolved alerts about the patient, newest first.
    open_alerts: list[Alert] = field(default_factory=list)
    # Completed questionnaires (PHQ-9, GAD-7), oldest first.
    questionnaires: list[QuestionnaireResponse] = field(default_factory=list)


class StaffService:
    """Builds staff-facing views; never includes the patient's Telegram identity."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        *,
        timezone: ZoneInfo,
        charts: ChartRenderer,
        detection: DetectorConfig,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._timezone = timezone
        self._charts = charts
        self._detection = detection

    async def find(self, raw_code: str) -> Patient:
        """Return the patient with this code, or raise InputError."""
        code = normalise_code(raw_code)
        patient = await self._storage.patients.by_code(code)
        if patient is None:
            raise InputError(InputProblem.NO_SUCH_PATIENT, code)
        return patient

    async def summary(self, patient: Patient) -> PatientSummary:
        """Collect a patient's summary."""
        infusions = await self._storage.infusions.recent(patient.id, limit=3)
        rows = await self._storage.checkins.for_patient(patient.id)
        closed = [c for c in rows if c.state in {CheckinState.ANSWERED, CheckinState.MISSED}]
        notes = await self._storage.answers.notes_for_patient(patient.id)
        since = infusions[-1].given_at if infusions else patient.created_at
        episodes = await self._storage.episodes.since(patient.id, since)
        adaptive = await self._storage.checkins.adaptive_open(patient.id)
        questions = await self._storage.questions.recent(patient.id)
        alerts = await self._storage.alerts.for_patient(patient.id, limit=CHART_ALERTS)
        return PatientSummary(
            patient=patient,
            infusions=infusions,
            recent=closed[-RECENT_SCORES:],
            notes=notes[-RECENT_NOTES:],
            open_episodes=[e for e in episodes if e.ended_at is None],
            answered=sum(1 for c in rows if c.state is CheckinState.ANSWERED),
            missed=sum(
                1
                for c in rows
                if c.state is CheckinState.MISSED
                and c.close_reason is not None
                and c.close_reason.patient_missed
            ),
            adaptive=adaptive,
            questions=questions,
            open_alerts=[a for a in alerts if a.resolved_at is None],
            questionnaires=await self._storage.questionnaires.completed(patient.id),
        )

    async def chart_data(self, patient: Patient, *, highlight: datetime | None) -> ChartData:
        """Collect what the chart shows: since the last two infusions, up to now."""
        now = self._clock.now()
        infusions = await self._storage.infusions.recent(patient.id, limit=2)
        start = infusions[0].given_at - CHART_MARGIN if infusions else now - CHART_LOOKBACK
        points = await self._storage.answers.mood_points(patient.id, since=start)
        outcomes = await self._storage.answers.outcomes(
            patient.id, since=start, limit=CHART_OUTCOMES
        )
        inputs = await detector_inputs(self._storage, patient.id, self._detection)
        level = (
            None
            if inputs is None
            else assess_inputs(inputs, now=now, config=self._detection).level
        )
        alerts = await self._storage.alerts.for_patient(patient.id, limit=CHART_ALERTS)
        return ChartData(
            code=patient.code,
            points=tuple(points),
            missed=tuple(o.at for o in outcomes if o.score is None),
            infusions=tuple(i.given_at for i in infusions),
            level=None if level is None else level.level,
            level_from=None if level is None or inputs is None else inputs.last_infusion,
            past_alerts=tuple(
                sorted(a.created_at for a in alerts if start <= a.created_at <= now)
            ),
            highlight=highlight,
            start=start,
            end=now,
        )

    async def chart(self, patient: Patient, *, highlight: datetime | None) -> bytes:
        """Render the patient's chart (in a worker thread: drawing is CPU-bound)."""
        data = await self.chart_data(patient, highlight=highlight)
        return await asyncio.to_thread(self._charts.mood_chart, data, tz=self._timezone)

    async def alert_chart(self, alert: Alert) -> bytes | None:
        """Return the chart that goes with an alert."""
        patient = await self._storage.patients.get(alert.patient_id)
        if patient is None:
            return None
        return await self.chart(patient, highlight=alert.created_at)

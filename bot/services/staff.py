"""What staff see about a patient: summaries and charts, by pseudonymous code only."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.clock import Clock
from bot.domain.codes import CheckinState
from bot.domain.entities import Alert, Checkin, EpisodeRecord, Infusion, Patient, SafetyQuestion
from bot.domain.errors import InputError, InputProblem
from bot.services.enrolment import normalise_code
from bot.services.ports import ChartRenderer
from storage import Storage

RECENT_NOTES = 5
RECENT_SCORES = 10
CHART_LOOKBACK = timedelta(days=120)


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


class StaffService:
    """Builds staff-facing views; never includes the patient's Telegram identity."""

    def __init__(
        self, storage: Storage, clock: Clock, *, timezone: ZoneInfo, charts: ChartRenderer
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._timezone = timezone
        self._charts = charts

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
        )

    async def chart(self, patient: Patient, *, highlight: datetime | None) -> bytes:
        """Render the chart of mood since the last two infusions (in a worker thread)."""
        infusions = await self._storage.infusions.recent(patient.id, limit=2)
        since = infusions[0].given_at if infusions else self._clock.now() - CHART_LOOKBACK
        points = await self._storage.answers.mood_points(patient.id, since=since)
        return await asyncio.to_thread(
            self._charts.mood_chart,
            patient.code,
            points,
            infusions=[i.given_at for i in infusions],
            highlight=highlight,
            tz=self._timezone,
        )

    async def alert_chart(self, alert: Alert) -> bytes | None:
        """Return the chart that goes with an alert."""
        patient = await self._storage.patients.get(alert.patient_id)
        if patient is None:
            return None
        return await self.chart(patient, highlight=alert.created_at)

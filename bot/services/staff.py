"""What staff see about a patient: summaries, charts and alert texts, by pseudonymous code."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.clock import Clock
from bot.domain.entities import (
    Alert,
    Checkin,
    CheckinState,
    EpisodeRecord,
    Infusion,
    MoodPoint,
    Patient,
)
from bot.domain.errors import InputError
from bot.services.enrolment import normalise_code
from bot.telegram.charts import render_mood_chart
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


def day_label(moment: datetime, tz: ZoneInfo) -> str:
    """Return a short local date such as '12 Mar'."""
    return moment.astimezone(tz).strftime("%d %b").lstrip("0")


def scores_line(points: list[MoodPoint]) -> str:
    """Return the last scores as '8 · 8 · 7 · 4 · 4'."""
    return " · ".join(str(point.score) for point in points) if points else "none yet"


class StaffService:
    """Builds staff-facing views; never includes the patient's Telegram identity."""

    def __init__(self, storage: Storage, clock: Clock, *, timezone: ZoneInfo) -> None:
        self._storage = storage
        self._clock = clock
        self._timezone = timezone

    async def find(self, raw_code: str) -> Patient:
        """Return the patient with this code, or raise InputError."""
        code = normalise_code(raw_code)
        patient = await self._storage.patients.by_code(code)
        if patient is None:
            raise InputError(f"There is no patient {code}.")
        return patient

    async def summary(self, patient: Patient) -> PatientSummary:
        """Collect a patient's summary."""
        infusions = await self._storage.infusions.recent(patient.id, limit=3)
        rows = await self._storage.checkins.for_patient(patient.id)
        closed = [c for c in rows if c.state in {CheckinState.ANSWERED, CheckinState.MISSED}]
        notes = await self._storage.checkins.notes_for_patient(patient.id)
        since = infusions[-1].given_at if infusions else patient.created_at
        episodes = await self._storage.alerts.episodes_since(patient.id, since)
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
                if c.state is CheckinState.MISSED and (c.reason or "").startswith("no answer")
            ),
        )

    def summary_text(self, summary: PatientSummary) -> str:
        """Return the summary as a staff message."""
        tz = self._timezone
        patient = summary.patient
        now = self._clock.now()
        label = f" ({patient.label})" if patient.label else ""
        lines = [
            f"{patient.code}{label} · {patient.status.value.replace('_', ' ')}",
            f"Check-ins at {patient.checkin_time or '-'} ({patient.timezone});"
            f" {summary.answered} answered, {summary.missed} missed.",
        ]
        if summary.infusions:
            last = summary.infusions[-1].given_at
            days = (now - last).days
            dates = ", ".join(day_label(i.given_at, tz) for i in summary.infusions)
            lines.append(f"Infusions: {dates} (last {days} day{'s' if days != 1 else ''} ago).")
        else:
            lines.append("No infusion recorded yet.")
        recent = ["missed" if c.score is None else str(c.score) for c in summary.recent]
        lines.append(f"Recent check-ins: {' · '.join(recent) if recent else 'none yet'}")
        for episode in summary.open_episodes:
            lines.append(
                f"Open: {episode.kind.replace('_', ' ')} since {day_label(episode.since, tz)}"
                f" - {episode.explanation}"
            )
        if summary.notes:
            lines.append("Recent notes:")
            for at, text in summary.notes:
                short = text if len(text) <= 300 else text[:297] + "..."
                lines.append(f"· {day_label(at, tz)}: {short}")
        return "\n".join(lines)

    async def chart(self, patient: Patient, *, highlight: datetime | None) -> bytes:
        """Render the chart of mood since the last two infusions (in a worker thread)."""
        infusions = await self._storage.infusions.recent(patient.id, limit=2)
        since = infusions[0].given_at if infusions else self._clock.now() - CHART_LOOKBACK
        points = await self._storage.checkins.mood_points(patient.id, since=since)
        title = f"{patient.code}: mood since the last two infusions"
        return await asyncio.to_thread(
            render_mood_chart,
            points,
            infusions=[i.given_at for i in infusions],
            highlight=highlight,
            tz=self._timezone,
            title=title,
        )

    async def alert_chart(self, alert: Alert) -> bytes | None:
        """Return the chart that goes with an alert."""
        patient = await self._storage.patients.get(alert.patient_id)
        if patient is None:
            return None
        return await self.chart(patient, highlight=alert.created_at)

    def episode_alert_text(
        self,
        patient: Patient,
        *,
        kind: str,
        explanation: str,
        since: datetime,
        last_infusion: datetime | None,
        last_scores: list[MoodPoint],
    ) -> str:
        """Return the text of an episode alert: who, what, since when, and the last scores."""
        tz = self._timezone
        title = {
            "decline": "mood decline",
            "low_mood": "persistently low mood",
            "disengagement": "stopped answering",
        }.get(kind, kind.replace("_", " "))
        lines = [f"\u26a0\ufe0f {patient.code} \u00b7 {title}", explanation]
        since_line = f"Since {day_label(since, tz)}"
        if last_infusion is not None:
            days = (self._clock.now() - last_infusion).days
            since_line += (
                f"; {days} day{'s' if days != 1 else ''} since the last infusion"
                f" ({day_label(last_infusion, tz)})"
            )
        lines.append(since_line + ".")
        lines.append(f"Last scores: {scores_line(last_scores)}")
        return "\n".join(lines)

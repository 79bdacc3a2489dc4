"""What a patient's own /history shows, worked out from their record (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.entities import MoodPoint
from bot.domain.record import PatientNote, PatientRecord

LAST_ENTRIES = 5
_MARGIN = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class TotalPoint:
    """One completed questionnaire's total."""

    instrument: str
    at: datetime
    total: int
    band: str | None


@dataclass(frozen=True, slots=True)
class Entry:
    """One of the latest things the patient told us, for the words under the chart."""

    at: datetime
    score: int | None
    note: str | None
    instrument: str | None = None


@dataclass(frozen=True, slots=True)
class History:
    """Mood answers and questionnaire totals since enrolment, infusions, the latest entries."""

    points: tuple[MoodPoint, ...]
    totals: tuple[TotalPoint, ...]
    infusions: tuple[datetime, ...]
    latest: tuple[Entry, ...]
    start: datetime
    end: datetime

    @property
    def empty(self) -> bool:
        """Return whether there is nothing to draw yet."""
        return not self.points and not self.totals


def history_of(record: PatientRecord, *, now: datetime) -> History:
    """Return the patient's history from enrolment (consent) up to now."""
    enrolled = record.patient.consent_at or record.patient.created_at
    points = tuple(
        MoodPoint(c.answered_at, c.score)
        for c in record.checkins
        if c.score is not None and c.answered_at is not None
    )
    totals = tuple(
        TotalPoint(q.instrument, q.completed_at, q.total, q.band)
        for q in record.questionnaires
        if q.total is not None and q.completed_at is not None
    )
    moments = [enrolled, *(p.at for p in points), *(t.at for t in totals)]
    return History(
        points=points,
        totals=totals,
        infusions=tuple(i.given_at for i in record.infusions if i.given_at >= enrolled),
        latest=_latest(points, totals, record.notes),
        start=min(moments) - _MARGIN,
        end=now,
    )


def _latest(
    points: tuple[MoodPoint, ...],
    totals: tuple[TotalPoint, ...],
    notes: tuple[PatientNote, ...],
) -> tuple[Entry, ...]:
    entries = [Entry(p.at, p.score, None) for p in points]
    entries += [Entry(t.at, t.total, None, t.instrument) for t in totals]
    entries += [Entry(n.created_at, None, n.text) for n in notes]
    entries.sort(key=lambda entry: entry.at)
    return tuple(entries[-LAST_ENTRIES:])

"""Everything stored about one patient, read in one go: what /mydata and /export hand out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.codes import PushKind
from bot.domain.entities import (
    Alert,
    Checkin,
    Infusion,
    Patient,
    QuestionnaireResponse,
    SafetyQuestion,
)


@dataclass(frozen=True, slots=True)
class PatientNote:
    """A free-text note the patient wrote, with the check-in it was about, if any."""

    id: int
    checkin_id: int | None
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ExplainerDelivery:
    """One explainer that reached the patient, and how (pushed or asked for)."""

    id: int
    explainer_id: str
    how: PushKind
    at: datetime


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """One patient and everything stored about them, each part oldest first."""

    patient: Patient
    infusions: tuple[Infusion, ...] = ()
    checkins: tuple[Checkin, ...] = ()
    notes: tuple[PatientNote, ...] = ()
    questionnaires: tuple[QuestionnaireResponse, ...] = ()
    safety_questions: tuple[SafetyQuestion, ...] = ()
    explainers: tuple[ExplainerDelivery, ...] = ()
    alerts: tuple[Alert, ...] = ()

    def notes_of(self, checkin_id: int) -> tuple[PatientNote, ...]:
        """Return the notes written about one check-in, oldest first."""
        return tuple(note for note in self.notes if note.checkin_id == checkin_id)

    def loose_notes(self) -> tuple[PatientNote, ...]:
        """Return the notes about no check-in of this record, oldest first."""
        known = {checkin.id for checkin in self.checkins}
        return tuple(note for note in self.notes if note.checkin_id not in known)

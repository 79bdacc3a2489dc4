"""The records Afterglow works with: frozen, and returned by the repositories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.codes import (
    AlertKind,
    AnswerOutcome,
    AuditAction,
    CheckinKind,
    CheckinState,
    CloseReason,
    Delivery,
    DeliveryProblem,
    EpisodeEndReason,
    EpisodeKind,
    PatientStatus,
    PushKind,
    QuestionAnswer,
    QuestionnaireOrigin,
    QuestionnaireStatus,
    QuestionReason,
    RedeemOutcome,
    Urgency,
)

NOTE_LIMIT = 4096
"""The longest note kept (the database enforces it): the longest message Telegram delivers."""


@dataclass(frozen=True, slots=True)
class Patient:
    """An enrolled or invited patient, known to staff only by their code."""

    id: int
    code: str
    label: str | None
    status: PatientStatus
    telegram_user_id: int | None
    chat_id: int | None
    timezone: str
    checkin_time: str | None
    consent_at: datetime | None
    created_at: datetime
    awaiting_note_checkin_id: int | None
    status_changed_at: datetime | None = None
    # The version of the consent text they agreed to ('legacy': before versions were kept).
    consent_version: str | None = None
    # When they deleted their data (/deletemydata); the row then holds no Telegram identity.
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Infusion:
    """One recorded infusion."""

    id: int
    patient_id: int
    given_at: datetime
    recorded_at: datetime
    recorded_by: int


@dataclass(frozen=True, slots=True)
class Checkin:
    """One planned or extra check-in and, once answered, its score."""

    id: int
    patient_id: int
    infusion_id: int | None
    kind: CheckinKind
    day: int | None
    due_at: datetime
    state: CheckinState
    close_reason: CloseReason | None
    last_error: DeliveryProblem | None
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    delivery: Delivery | None
    message_id: int | None
    score: int | None
    answered_at: datetime | None
    adaptive: bool = False


@dataclass(frozen=True, slots=True)
class DueCheckin:
    """A check-in claimed for sending, with where to send it."""

    checkin: Checkin
    chat_id: int
    patient_code: str
    closed_previous: bool = False


@dataclass(frozen=True, slots=True)
class PlannedCheckin:
    """One row of a new plan, before it is stored."""

    day: int
    due_at: datetime


@dataclass(frozen=True, slots=True)
class PatientOverview:
    """One line of the staff's patient list."""

    code: str
    label: str | None
    status: PatientStatus
    last_score: int | None
    last_score_at: datetime | None
    last_infusion_at: datetime | None
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Redemption:
    """Result of opening an invitation link, with the patient when one was bound."""

    outcome: RedeemOutcome
    patient: Patient | None


@dataclass(frozen=True, slots=True)
class AnswerResult:
    """Result of storing a mood answer, with the check-in as it now stands."""

    outcome: AnswerOutcome
    checkin: Checkin | None


@dataclass(frozen=True, slots=True)
class HousekeepingCounts:
    """What one dispatcher pass closed, per reason."""

    missed_unanswered: int
    missed_not_sent: int
    missed_superseded: int
    cancelled: int
    patients_with_misses: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class TextContext:
    """What is needed to interpret a patient's free text, read in one go."""

    patient: Patient
    open_checkin_id: int | None
    already_seen: bool


@dataclass(frozen=True, slots=True)
class EpisodeRecord:
    """A stored episode of concern (one per patient and kind while open)."""

    id: int
    patient_id: int
    kind: EpisodeKind
    since: datetime
    detected_at: datetime
    explanation: str
    ended_at: datetime | None
    end_reason: EpisodeEndReason | None


@dataclass(frozen=True, slots=True)
class Alert:
    """A staff alert and what is known about its delivery and handling."""

    id: int
    patient_id: int
    patient_code: str
    episode_id: int | None
    kind: AlertKind
    urgent: bool
    text: str
    with_chart: bool
    created_at: datetime
    sent: bool
    attempts: int
    last_error: DeliveryProblem | None
    chat_id: int | None
    message_id: int | None
    photo: bool
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    resolved_at: datetime | None
    reminders_sent: int
    sent_at: datetime | None = None
    escalations: int = 0


@dataclass(frozen=True, slots=True)
class NewAlert:
    """An alert to store before it is sent."""

    kind: AlertKind
    text: str
    urgent: bool = False
    with_chart: bool = False
    remind_after: int | None = None
    remind_every: int | None = None
    # One alert per event: a second alert with the same key is not stored.
    event_key: str | None = None
    escalate_after: int | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit log."""

    at: datetime
    actor: int
    action: AuditAction
    patient_code: str | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class MoodPoint:
    """One answered score, for charts and summaries."""

    at: datetime
    score: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """One closed check-in for the detector: answered (score) or missed (no score)."""

    at: datetime
    score: int | None


@dataclass(frozen=True, slots=True)
class WaitingPush:
    """A scheduled explainer waiting for a decent hour (or a retry)."""

    delivery_id: int
    patient_id: int
    explainer_id: str
    chat_id: int | None
    patient_code: str
    timezone: str
    active: bool
    how: PushKind = PushKind.SCHEDULED
    episode_id: int | None = None
    episode_open: bool = False


@dataclass(frozen=True, slots=True)
class SafetyContacts:
    """The crisis resources a clinic gives its patients."""

    crisis_line: str
    emergency_number: str


@dataclass(frozen=True, slots=True)
class Clinic:
    """What the services know about the clinic running the bot."""

    timezone: ZoneInfo
    staff_chat_id: int
    staff_ids: frozenset[int]
    contacts: SafetyContacts
    # Data rights: how long check-in data is kept (None: for ever), and whether deleting a
    # patient's data also deletes their clinical record (infusions, scores).
    retention_days: int | None = None
    delete_clinical_record: bool = True


@dataclass(frozen=True, slots=True)
class Received:
    """An update as Telegram delivered it: its id, the chat it orders within, its JSON.

    `payload` is None when it was too big to keep; `urgent` when its words looked like a
    crisis at intake, so it is handled ahead of the chat's earlier messages.
    """

    update_id: int
    chat_key: int
    payload: str | None
    urgent: bool


@dataclass(frozen=True, slots=True)
class UrgentMessage:
    """A message that goes out ahead of everything; `chat_id` None means the staff chat."""

    id: int
    chat_id: int | None
    text: str
    urgency: Urgency
    attempts: int


@dataclass(frozen=True, slots=True)
class SafetyQuestion:
    """One direct question to a patient about thoughts of ending their life or self-harm."""

    id: int
    patient_id: int
    chat_id: int
    reason: QuestionReason
    asked_at: datetime
    sent: bool
    answer: QuestionAnswer | None
    answered_at: datetime | None
    escalate_at: datetime
    escalated: bool


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A member of the clinic's staff roster (owners are configured, not listed here)."""

    id: int
    name: str
    telegram_user_id: int | None
    on_call: bool
    expires_at: datetime
    joined_at: datetime | None
    removed_at: datetime | None


@dataclass(frozen=True, slots=True)
class EscalationRound:
    """One escalation of an URGENT alert: who it reached privately, and who it could not.

    With nobody on call it goes to the clinic's owners instead (`to_owners`); their
    entries are then only counted.
    """

    waited: timedelta
    number: int
    reached: tuple[str, ...]
    missed: tuple[str, ...]
    to_owners: bool


@dataclass(frozen=True, slots=True)
class QuestionnaireResponse:
    """One administration of a questionnaire (PHQ-9, GAD-7) to a patient.

    `answers` holds the option scores in item order so far, None for a skipped optional
    item; `total` and `band` are set once it is completed.
    """

    id: int
    patient_id: int
    chat_id: int
    instrument: str
    origin: QuestionnaireOrigin
    status: QuestionnaireStatus
    answers: tuple[int | None, ...]
    started_at: datetime
    updated_at: datetime
    expires_at: datetime
    completed_at: datetime | None
    total: int | None
    band: str | None
    safety_alerted: bool
    # The highest safety-item answer the staff were told of (None: none yet).
    safety_told: int | None = None


@dataclass(frozen=True, slots=True)
class QuestionnaireCandidate:
    """A patient for whom a planned questionnaire may be due, with what planning needs."""

    patient_id: int
    chat_id: int
    timezone: str
    checkin_time: str | None
    enrolled_at: datetime
    instrument: str
    last_started: datetime | None
    last_infusion: datetime | None

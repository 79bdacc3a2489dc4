"""The codes Afterglow stores: every state and reason is one of these, never a sentence.

Each enum's values are what the database holds (and its CHECK constraints allow); the
words people read are derived from them in `bot.telegram`.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class PatientStatus(StrEnum):
    """Where a patient is in the course of enrolment and follow-up."""

    INVITED = "invited"
    CONSENT_PENDING = "consent_pending"
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    UNREACHABLE = "unreachable"


class CheckinState(StrEnum):
    """Life cycle of one check-in; every due check-in ends in one of the final states."""

    PENDING = "pending"
    SENT = "sent"
    ANSWERED = "answered"
    MISSED = "missed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class CheckinKind(StrEnum):
    """Planned by the protocol, or an extra rating the patient asked for."""

    PLANNED = "planned"
    EXTRA = "extra"


class Delivery(StrEnum):
    """What is known about whether a sent check-in reached the patient."""

    UNCONFIRMED = "unconfirmed"
    CONFIRMED = "confirmed"
    UNCERTAIN = "uncertain"


class CloseReason(StrEnum):
    """Why a check-in ended missed, cancelled or failed."""

    # Missed: sent, and the patient did not answer.
    NO_ANSWER = "no_answer"
    NO_ANSWER_BEFORE_NEXT = "no_answer_before_next"
    # Missed, but not the patient's doing.
    UNANSWERED_UNCERTAIN = "unanswered_uncertain"
    EXTRA_LEFT_OPEN = "extra_left_open"
    NOT_SENT_IN_WINDOW = "not_sent_in_window"
    SUPERSEDED = "superseded"
    # Cancelled: the patient could not receive anything when it was due.
    PATIENT_INVITED = "patient_invited"
    PATIENT_CONSENT_PENDING = "patient_consent_pending"
    PATIENT_PAUSED = "patient_paused"
    PATIENT_STOPPED = "patient_stopped"
    PATIENT_UNREACHABLE = "patient_unreachable"
    REPLACED_BY_NEW_PLAN = "replaced_by_new_plan"
    # Failed: the send was refused; the check-in's last delivery problem says how.
    SEND_FAILED = "send_failed"
    # Converted from a record whose reason was not one Afterglow wrote.
    UNKNOWN = "unknown"

    @property
    def patient_missed(self) -> bool:
        """Tell whether the patient received the prompt and left it unanswered.

        Only these misses are evidence about the patient (the detector's disengagement
        rule and the staff's missed count read them); a prompt that may never have arrived,
        or was never sent, is not.
        """
        return self in PATIENT_MISSES

    @classmethod
    def cancelled_for(cls, status: PatientStatus) -> CloseReason:
        """Return the reason a due check-in is cancelled for a patient in this status."""
        return cls(f"patient_{status.value}")


PATIENT_MISSES = frozenset({CloseReason.NO_ANSWER, CloseReason.NO_ANSWER_BEFORE_NEXT})


class DeliveryProblem(StrEnum):
    """What went wrong with one send, as far as Afterglow can tell."""

    FORBIDDEN = "forbidden"
    CHAT_NOT_FOUND = "chat_not_found"
    BAD_REQUEST = "bad_request"
    RATE_LIMITED = "rate_limited"
    CONNECT_FAILED = "connect_failed"
    SERVER_ERROR = "server_error"
    READ_TIMEOUT = "read_timeout"
    CONNECTION_LOST = "connection_lost"
    TELEGRAM_ERROR = "telegram_error"
    SENDER_ERROR = "sender_error"
    PROCESS_STOPPED = "process_stopped"
    UNKNOWN = "unknown"


class EpisodeKind(StrEnum):
    """What the detector found: each opens one episode of concern and one alert."""

    DECLINE = "decline"
    LOW_MOOD = "low_mood"
    DISENGAGEMENT = "disengagement"


class EpisodeEndReason(StrEnum):
    """Why an episode of concern ended."""

    RECOVERED = "recovered"
    RESOLVED_BY_STAFF = "resolved_by_staff"
    NEW_INFUSION = "new_infusion"


class AlertKind(StrEnum):
    """What a staff alert is about."""

    DECLINE = "decline"
    LOW_MOOD = "low_mood"
    DISENGAGEMENT = "disengagement"
    CRISIS = "crisis"
    CONTACT_REQUEST = "contact_request"
    # Words that may be a signal, or a very low score: the patient was asked directly.
    REVIEW = "review"
    # The direct question went unanswered: someone must reach the patient.
    QUESTION_UNANSWERED = "question_unanswered"
    # Silence: the patient stopped, blocked the bot, stayed paused, never joined, came back.
    STOPPED = "stopped"
    UNREACHABLE = "unreachable"
    PAUSED_LONG = "paused_long"
    INVITE_EXPIRED = "invite_expired"
    BACK = "back"
    # The patient deleted their data (/deletemydata): follow-up has ended.
    DELETED = "deleted"

    @classmethod
    def of_episode(cls, kind: EpisodeKind) -> AlertKind:
        """Return the alert kind that goes with an episode kind."""
        return cls(kind.value)


class QuestionReason(StrEnum):
    """Why the patient was asked the direct safety question."""

    WORDS = "words"
    LOW_SCORE = "low_score"


class QuestionAnswer(StrEnum):
    """The patient's answer to the direct safety question."""

    YES = "yes"
    NO = "no"


class PushKind(StrEnum):
    """How an explainer reached a patient."""

    SCHEDULED = "scheduled"
    CONTEXTUAL = "contextual"
    REQUESTED = "requested"


class AuditAction(StrEnum):
    """A staff action on a patient or on the roster, as the audit log records it."""

    INVITE = "invite"
    INFUSION = "infusion"
    VIEW_PATIENT = "view_patient"
    ACKNOWLEDGE_ALERT = "acknowledge_alert"
    RESOLVE_ALERT = "resolve_alert"
    RESOLVE_PATIENT = "resolve_patient"
    ADD_STAFF = "add_staff"
    JOIN_STAFF = "join_staff"
    ON_CALL = "on_call"
    OFF_CALL = "off_call"
    REMOVE_STAFF = "remove_staff"
    EXPORT = "export"
    # The patient deleted their own data; the actor is 0 (their Telegram id is not kept).
    DELETE_DATA = "delete_data"


class QuestionnaireStatus(StrEnum):
    """Where one administration of a questionnaire is."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    # Left unfinished for longer than the protocol allows: kept, marked incomplete.
    EXPIRED = "expired"


class QuestionnaireOrigin(StrEnum):
    """Why a questionnaire was started."""

    REQUESTED = "requested"
    BASELINE = "baseline"
    AFTER_INFUSION = "after_infusion"
    INTERVAL = "interval"


class Urgency(IntEnum):
    """Which urgent message goes first (lower first): the patient, then the staff about them."""

    CRISIS_REPLY = 0
    STAFF_ABOUT_PATIENT = 1
    STAFF_ABOUT_STRANGER = 2


class InboxState(StrEnum):
    """Where an update Telegram delivered is in its handling."""

    PENDING = "pending"
    DONE = "done"
    POISON = "poison"


class InboxClaim(StrEnum):
    """Whether an instance may handle a pending update now."""

    HANDLE = "handle"
    # Not pending any more, or another live instance is handling it.
    ELSEWHERE = "elsewhere"
    # Started too often without finishing: set it aside.
    GIVE_UP = "give_up"


class RedeemOutcome(StrEnum):
    """Result of a patient opening an invitation link."""

    ENROLLED = "enrolled"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    ALREADY_ENROLLED = "already_enrolled"
    # The user opened the invitation they had already used themselves.
    OWN_LINK = "own_link"


class StaffJoinOutcome(StrEnum):
    """Result of someone opening a staff link."""

    JOINED = "joined"
    # Unknown, used, expired or withdrawn.
    NOT_VALID = "not_valid"
    ALREADY_MEMBER = "already_member"
    # A patient's Telegram account cannot also be staff: they would see other patients.
    IS_PATIENT = "is_patient"


class AnswerOutcome(StrEnum):
    """Result of storing a mood answer."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    ALREADY_ANSWERED = "already_answered"
    CLOSED = "closed"
    NOT_FOUND = "not_found"

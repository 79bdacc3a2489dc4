"""What the services need from the outside world, as protocols.

`bot.telegram` implements the senders, the wording and the charts; the services never
import it. Every sender reports a `SendOutcome` and never raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.domain.chart import ChartData
from bot.domain.codes import AlertKind, EpisodeKind, PatientStatus, QuestionAnswer
from bot.domain.delivery import SendOutcome
from bot.domain.detection import Finding
from bot.domain.entities import Alert, EscalationRound, MoodPoint, Patient, QuestionnaireResponse
from bot.domain.explainers import Explainer
from bot.domain.history import History
from bot.domain.questionnaire_outcomes import QuestionnaireFinding
from bot.domain.questionnaires import Questionnaire


class CheckinSender(Protocol):
    """Sends check-in prompts with their score buttons."""

    async def send_checkin(
        self, chat_id: int, checkin_id: int, *, prepaid: bool = False
    ) -> SendOutcome:
        """Send the prompt for a check-in (at once when its permit was taken already)."""
        ...


class SendPermits(Protocol):
    """Telegram's flood limit, asked before a check-in is claimed rather than after."""

    async def take(self, up_to: int = 1) -> int:
        """Wait for the next permit; return how many sends may go out now (at least one)."""
        ...

    def release(self, unused: int) -> None:
        """Give back permits taken but not used (fewer check-ins were due)."""
        ...


class StaffSender(Protocol):
    """Sends alerts to the staff chat: a photo with caption when there is a chart."""

    async def send_alert(
        self, chat_id: int, alert: Alert, *, photo: bytes | None, reminder: bool
    ) -> SendOutcome:
        """Send an alert (or its reminder) with its Acknowledge and Resolve buttons."""
        ...

    async def send_escalation(
        self, chat_id: int, alert: Alert, *, waited: timedelta
    ) -> SendOutcome:
        """Send an URGENT alert nobody acknowledged to an on-call member, with its buttons."""
        ...


class PatientSender(Protocol):
    """Pushes explainers and episode messages to patients, behind bulk sending."""

    async def send_explainer(self, chat_id: int, explainer: Explainer, body: str) -> SendOutcome:
        """Send an explainer with a button to the /learn menu."""
        ...

    async def send_episode_message(
        self, chat_id: int, *, episode_id: int, explainer: Explainer | None, body: str | None
    ) -> SendOutcome:
        """Send the word that fading is common, an explainer, and the 'contact me' button."""
        ...


class QuestionnaireSender(Protocol):
    """Sends the first item of a planned questionnaire, behind bulk sending."""

    async def send_questionnaire(
        self, chat_id: int, response: QuestionnaireResponse, questionnaire: Questionnaire
    ) -> SendOutcome:
        """Send the opening words and the current item with its option buttons."""
        ...


class UrgentMessenger(Protocol):
    """Sends at once, ahead of anything queued: crisis replies and direct staff messages."""

    async def send_now(self, chat_id: int, text: str) -> SendOutcome:
        """Send a plain text message."""
        ...

    async def send_question(self, chat_id: int, question_id: int) -> SendOutcome:
        """Ask the patient directly about thoughts of suicide or self-harm, with Yes and No."""
        ...


class ChartRenderer(Protocol):
    """Draws a patient's mood chart (CPU-bound: the services run it in a worker thread)."""

    def mood_chart(self, data: ChartData, *, tz: ZoneInfo) -> bytes:
        """Return the PNG of a patient's chart."""
        ...


class HistoryRenderer(Protocol):
    """Draws a patient's own history chart (CPU-bound: run in a worker thread)."""

    def history_chart(self, history: History, *, tz: ZoneInfo) -> bytes:
        """Return the PNG of a patient's mood and questionnaire totals since enrolment."""
        ...


class Wording(Protocol):
    """The sentences the services store or send; `bot.telegram` writes them."""

    def explanation(self, finding: Finding) -> str:
        """Return the one-line account of a finding, kept with its episode."""
        ...

    def episode_alert(
        self,
        patient: Patient,
        finding: Finding,
        *,
        explanation: str,
        last_infusion: datetime | None,
        last_scores: Sequence[MoodPoint],
        now: datetime,
    ) -> str:
        """Return the staff alert for a new episode: who, what, since when, last scores."""
        ...

    def crisis_reply(self, *, care_team_told: bool, acted: bool = False) -> str:
        """Return the caring reply to crisis words, with the resources.

        `acted`: the person says they have already acted; the reply says to call now.
        """
        ...

    def review_note(
        self, patient: Patient, words: str, category: str | None, *, asked: bool
    ) -> str:
        """Return the staff note about words that may be a signal (and the question asked)."""
        ...

    def low_score_note(self, patient: Patient, score: int) -> str:
        """Return the staff note that a very low score was answered with the question."""
        ...

    def question_answered(self, patient: Patient, answer: QuestionAnswer) -> str:
        """Return the staff message with the patient's answer to the direct question."""
        ...

    def question_unanswered(self, patient: Patient, asked_at: datetime) -> str:
        """Return the staff alert that the direct question went unanswered."""
        ...

    def crisis_alert(self, patient: Patient, words: str, category: str, *, follow_up: bool) -> str:
        """Return the staff's URGENT alert quoting a patient's words."""
        ...

    def stranger_alert(
        self, reference: str, words: str, category: str, *, unreadable: bool
    ) -> str:
        """Return the staff's URGENT message about crisis words from someone with no record."""
        ...

    def stranger_follow_up(self, reference: str, words: str) -> str:
        """Return the staff's message about another crisis message from the same person."""
        ...

    def escalation_note(self, alert: Alert, escalation: EscalationRound) -> str:
        """Return the staff chat's word that an URGENT alert went to the on-call staff."""
        ...

    def stranger_digest(self, entries: Sequence[tuple[str, str]]) -> str:
        """Return one staff message for many crisis messages from people with no record."""
        ...

    def silence(
        self,
        patient: Patient,
        kind: AlertKind,
        *,
        last_answer: MoodPoint | None,
        away_since: datetime | None,
        was: PatientStatus | None,
        now: datetime,
    ) -> str:
        """Return the staff message that a patient went quiet (or came back)."""
        ...

    def not_stored(self, text: str) -> str:
        """Return a direct staff message marked as not stored (no buttons, no reminders)."""
        ...

    def contact_request(self, patient: Patient, episode_kind: EpisodeKind) -> str:
        """Return the staff alert that a patient asked to be contacted."""
        ...

    def questionnaire_safety_alert(
        self, patient: Patient, questionnaire: Questionnaire, index: int, value: int
    ) -> str:
        """Return the staff's URGENT alert for a safety item answered above its threshold."""
        ...

    def questionnaire_safety_worse(
        self, patient: Patient, questionnaire: Questionnaire, index: int, value: int
    ) -> str:
        """Return the staff's follow-up: the safety item answered worse than first told."""
        ...

    def questionnaire_explanation(self, finding: QuestionnaireFinding) -> str:
        """Return the one-line account of a decline seen in PHQ-9 totals."""
        ...

    def questionnaire_alert(
        self,
        patient: Patient,
        finding: QuestionnaireFinding,
        *,
        explanation: str,
        last_infusion: datetime | None,
        now: datetime,
    ) -> str:
        """Return the staff alert for a decline seen in PHQ-9 totals."""
        ...

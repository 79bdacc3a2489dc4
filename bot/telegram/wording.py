"""The services' `Wording` port: the sentences they store or send, written here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.codes import AlertKind, EpisodeKind, PatientStatus, QuestionAnswer
from bot.domain.detection import Finding
from bot.domain.entities import Alert, EscalationRound, MoodPoint, Patient, SafetyContacts
from bot.domain.questionnaire_outcomes import QuestionnaireFinding
from bot.domain.questionnaires import Questionnaire
from bot.telegram import (
    escalation_texts,
    questionnaire_texts,
    silence_texts,
    staff_texts,
    texts,
)
from bot.telegram.explanations import explain


class TelegramWording:
    """Words for one clinic: its crisis resources and its time zone."""

    def __init__(self, contacts: SafetyContacts, timezone: ZoneInfo) -> None:
        self._contacts = contacts
        self._timezone = timezone

    def explanation(self, finding: Finding) -> str:
        """Return the one-line account of a finding, kept with its episode."""
        return explain(finding.kind, finding.since, finding.facts, self._timezone)

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
        """Return the staff alert for a new episode."""
        return staff_texts.episode_alert(
            patient,
            finding.kind,
            explanation=explanation,
            last_infusion=last_infusion,
            last_scores=last_scores,
            now=now,
            tz=self._timezone,
        )

    def crisis_reply(self, *, care_team_told: bool, acted: bool = False) -> str:
        """Return the caring reply to a patient's crisis words."""
        return texts.crisis_reply(self._contacts, care_team_told=care_team_told, acted=acted)

    def review_note(
        self, patient: Patient, words: str, category: str | None, *, asked: bool
    ) -> str:
        """Return the staff note about words that may be a signal."""
        return staff_texts.review_note(patient, words, category, asked=asked)

    def low_score_note(self, patient: Patient, score: int) -> str:
        """Return the staff note that a very low score was answered with the question."""
        return staff_texts.low_score_note(patient, score)

    def question_answered(self, patient: Patient, answer: QuestionAnswer) -> str:
        """Return the staff message with the answer to the direct question."""
        return staff_texts.question_answered(patient, answer)

    def question_unanswered(self, patient: Patient, asked_at: datetime) -> str:
        """Return the staff alert that the direct question went unanswered."""
        return staff_texts.question_unanswered(patient, asked_at, self._timezone)

    def crisis_alert(self, patient: Patient, words: str, category: str, *, follow_up: bool) -> str:
        """Return the staff's URGENT alert quoting a patient's words."""
        return staff_texts.crisis_alert(patient, words, category, follow_up=follow_up)

    def stranger_alert(
        self, reference: str, words: str, category: str, *, unreadable: bool
    ) -> str:
        """Return the staff's URGENT message about someone with no record."""
        return staff_texts.stranger_alert(reference, words, category, unreadable=unreadable)

    def stranger_follow_up(self, reference: str, words: str) -> str:
        """Return the staff's message about another message from the same person."""
        return staff_texts.stranger_follow_up(reference, words)

    def escalation_note(self, alert: Alert, escalation: EscalationRound) -> str:
        """Return the staff chat's word that an URGENT alert went to the on-call staff."""
        return escalation_texts.note(alert, escalation)

    def stranger_digest(self, entries: Sequence[tuple[str, str]]) -> str:
        """Return one staff message for many crisis messages from people with no record."""
        return staff_texts.stranger_digest(entries)

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
        return silence_texts.silence(
            patient,
            kind,
            last_answer=last_answer,
            away_since=away_since,
            was=was,
            now=now,
            tz=self._timezone,
        )

    def not_stored(self, text: str) -> str:
        """Return a direct staff message marked as not stored."""
        return staff_texts.not_stored(text)

    def contact_request(self, patient: Patient, episode_kind: EpisodeKind) -> str:
        """Return the staff alert that a patient asked to be contacted."""
        return staff_texts.contact_request(patient, episode_kind)

    def questionnaire_safety_alert(
        self, patient: Patient, questionnaire: Questionnaire, index: int, value: int
    ) -> str:
        """Return the staff's URGENT alert for a safety item answered above its threshold."""
        return questionnaire_texts.safety_alert(patient, questionnaire, index, value)

    def questionnaire_safety_worse(
        self, patient: Patient, questionnaire: Questionnaire, index: int, value: int
    ) -> str:
        """Return the staff's follow-up: the safety item answered worse than first told."""
        return questionnaire_texts.safety_worse(patient, questionnaire, index, value)

    def questionnaire_explanation(self, finding: QuestionnaireFinding) -> str:
        """Return the one-line account of a decline seen in PHQ-9 totals."""
        return questionnaire_texts.finding_explanation(finding, self._timezone)

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
        return questionnaire_texts.finding_alert(
            patient,
            explanation=explanation,
            last_infusion=last_infusion,
            now=now,
            tz=self._timezone,
        )

"""Staff command replies that say what a command did: invitations, infusions, summaries."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.codes import AlertKind, PatientStatus, QuestionReason
from bot.domain.entities import SafetyQuestion
from bot.services.care import RecordedInfusion
from bot.services.enrolment import Invitation
from bot.services.staff import PatientSummary
from bot.telegram import questionnaire_texts
from bot.telegram.staff_texts import (
    NOTE_LIMIT,
    calendar_days,
    consent_line,
    day_label,
    episode_label,
    local,
    patient_status,
)

_NOT_ENROLLED = {PatientStatus.INVITED, PatientStatus.CONSENT_PENDING}
_NOT_RECEIVING = {PatientStatus.PAUSED, PatientStatus.STOPPED, PatientStatus.UNREACHABLE}


def invitation(invited: Invitation, link: str, tz: ZoneInfo) -> str:
    """Return the answer to /invite: the new code and the one-time link."""
    named = f" ({invited.patient.label})" if invited.patient.label else ""
    return (
        f"New patient {invited.patient.code}{named}.\n"
        f"Give them this one-time link; it works once and expires on "
        f"{local(invited.expires_at, tz)} ({tz.key}):\n{link}"
    )


def infusion_recorded(recorded: RecordedInfusion, tz: ZoneInfo) -> str:
    """Return the answer to /infusion: what was recorded and planned."""
    patient = recorded.patient
    given = local(recorded.infusion.given_at, tz)
    lines = [f"Infusion recorded for {patient.code} at {given} ({tz.key})."]
    if recorded.newer is not None:
        lines.append(
            f"A later infusion ({local(recorded.newer.given_at, tz)}) is already recorded, so"
            " its check-in plan stays as it is."
        )
    elif recorded.first_due is not None:
        first = recorded.first_due.astimezone(ZoneInfo(patient.timezone))
        lines.append(
            f"{recorded.planned} check-ins planned; the first on {first:%Y-%m-%d at %H:%M} "
            f"({patient.timezone})."
        )
    else:
        lines.append("No check-ins left to plan for that date.")
    if patient.status in _NOT_ENROLLED:
        lines.append("The patient has not finished enrolment yet; check-ins start once they do.")
    elif patient.status in _NOT_RECEIVING:
        lines.append(
            f"Note: the patient is {patient.status.value}, so nothing will be sent for now."
        )
    return "\n".join(lines)


def question_line(question: SafetyQuestion, tz: ZoneInfo) -> str:
    """Return one direct safety question and its answer, as /patient lists them."""
    why = "after their words" if question.reason is QuestionReason.WORDS else "after a low score"
    if question.answer is not None and question.answered_at is not None:
        answer = f"answered {question.answer.value.upper()} at {local(question.answered_at, tz)}"
    else:
        answer = "NOT answered" + (" (staff alerted)" if question.escalated else "")
    return f"Direct safety question {local(question.asked_at, tz)} {why}: {answer}."


def summary(view: PatientSummary, *, now: datetime, tz: ZoneInfo) -> str:
    """Return /patient's summary: status, check-ins, infusions, open episodes, notes."""
    patient = view.patient
    label = f" ({patient.label})" if patient.label else ""
    lines = [
        f"{patient.code}{label} · {patient_status(patient.status, patient.deleted_at, tz)}",
        f"Check-ins at {patient.checkin_time or '-'} ({patient.timezone});"
        f" {view.answered} answered, {view.missed} missed.",
        consent_line(patient.consent_version, patient.consent_at, tz),
    ]
    # As in /alerts, a crisis alert is open until someone acknowledges it.
    crises = [
        a for a in view.open_alerts if a.kind is AlertKind.CRISIS and a.acknowledged_at is None
    ]
    if crises:
        lines.insert(
            1,
            f"\U0001f6a8 Open crisis alerts: {len(crises)}, the latest"
            f" {local(crises[0].created_at, tz)}. /alerts to act on them.",
        )
    if view.infusions:
        days = calendar_days(view.infusions[-1].given_at, now, tz)
        dates = ", ".join(day_label(i.given_at, tz) for i in view.infusions)
        lines.append(f"Infusions: {dates} (last {days} day{'s' if days != 1 else ''} ago).")
    else:
        lines.append("No infusion recorded yet.")
    recent = ["missed" if c.score is None else str(c.score) for c in view.recent]
    lines.append(f"Recent check-ins: {' · '.join(recent) if recent else 'none yet'}")
    lines.extend(questionnaire_texts.summaries(view.questionnaires, tz))
    if view.adaptive is not None:
        lines.append(
            f"Extra check-in after a markedly low answer: {local(view.adaptive.due_at, tz)}"
            f" ({view.adaptive.state.value})."
        )
    for question in view.questions:
        lines.append(question_line(question, tz))
    for episode in view.open_episodes:
        lines.append(
            f"Open: {episode_label(episode.kind)} since {day_label(episode.since, tz)}"
            f" - {episode.explanation}"
        )
    if view.notes:
        lines.append("Recent notes:")
        for at, text in view.notes:
            short = text if len(text) <= NOTE_LIMIT else text[: NOTE_LIMIT - 3] + "..."
            lines.append(f"· {day_label(at, tz)}: {short}")
    return "\n".join(lines)

"""What staff are told when a patient goes quiet, comes back, or deletes their data."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.codes import AlertKind, PatientStatus
from bot.domain.entities import MoodPoint, Patient
from bot.telegram.staff_texts import local

_WHAT = {
    AlertKind.STOPPED: "stopped all messages (/stop)",
    AlertKind.UNREACHABLE: "can no longer be reached: they blocked the bot or left the chat",
    AlertKind.PAUSED_LONG: "has had check-ins paused for {days}",
    AlertKind.INVITE_EXPIRED: "never opened their invitation link, which has now expired",
    AlertKind.BACK: "is back after {days} {was}",
}
SILENCE_MATTERS = "Silence can be a sign of a relapse: please consider reaching out."
_WAS = {PatientStatus.PAUSED: "paused", PatientStatus.UNREACHABLE: "unreachable"}


def _days(count: int) -> str:
    return f"{count} day{'s' if count != 1 else ''}"


def deleted(patient: Patient, tz: ZoneInfo) -> str:
    """Return the staff message that a patient deleted their data: code and date only."""
    return (
        f"\U0001f5d1 {patient.code} \u00b7 deleted their data (/deletemydata) on"
        f" {local(patient.deleted_at, tz)}.\n"
        "Follow-up for them has ended: no check-ins or messages go to them any more, and their"
        " Telegram account is no longer linked to this code. Their earlier alerts were closed"
        " with the data; if an urgent one had not been handled yet, please follow it up"
        " outside Afterglow."
    )


def silence(
    patient: Patient,
    kind: AlertKind,
    *,
    last_answer: MoodPoint | None,
    away_since: datetime | None,
    was: PatientStatus | None,
    now: datetime,
    tz: ZoneInfo,
) -> str:
    """Return the staff message about a patient going quiet (or coming back)."""
    if kind is AlertKind.DELETED:
        return deleted(patient, tz)
    since = away_since if kind is AlertKind.BACK else patient.status_changed_at
    days = (now.astimezone(tz).date() - since.astimezone(tz).date()).days if since else 0
    what = _WHAT[kind].format(days=_days(days), was=_WAS.get(was, "away") if was else "away")
    icon = "\U0001f44b" if kind is AlertKind.BACK else "\U0001f515"
    last = (
        "no answers yet"
        if last_answer is None
        else f"last score {last_answer.score}/10 on {local(last_answer.at, tz)}"
    )
    closing = (
        ""
        if kind is AlertKind.BACK
        else "\nSilence can be a sign of a relapse: please consider reaching out."
    )
    return f"{icon} {patient.code} \u00b7 {what}.\n{last.capitalize()}.{closing}"

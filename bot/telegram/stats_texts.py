"""The /stats message: alerts by kind, response times, patients and check-ins."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.domain.codes import AlertKind
from bot.domain.stats import Spread, Stats
from bot.telegram.staff_texts import local

KIND_NAMES = {
    AlertKind.DECLINE: "mood decline",
    AlertKind.LOW_MOOD: "persistently low mood",
    AlertKind.DISENGAGEMENT: "stopped answering",
    AlertKind.CRISIS: "crisis words",
    AlertKind.CONTACT_REQUEST: "asked to be contacted",
    AlertKind.REVIEW: "words to review",
    AlertKind.QUESTION_UNANSWERED: "safety question unanswered",
    AlertKind.STOPPED: "stopped messages",
    AlertKind.UNREACHABLE: "unreachable",
    AlertKind.PAUSED_LONG: "paused a long time",
    AlertKind.INVITE_EXPIRED: "invitation expired",
    AlertKind.BACK: "came back",
    AlertKind.DELETED: "deleted their data",
}


def duration(value: timedelta | None) -> str:
    """Return a duration as '45 s', '12 min', '3 h 20 min' or '2 d 4 h'."""
    if value is None:
        return "-"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _spread(label: str, spread: Spread) -> str:
    if not spread.count:
        return f"{label}: none yet"
    return (
        f"{label}: median {duration(spread.median)}, 90% within {duration(spread.p90)}"
        f" ({spread.count} alert{'s' if spread.count != 1 else ''})"
    )


def stats(figures: Stats, tz: ZoneInfo) -> str:
    """Return the /stats message."""
    days = round((figures.until - figures.since) / timedelta(days=1))
    lines = [f"Last {days} days (since {local(figures.since, tz)} {tz.key}):", "", "Alerts:"]
    total = sum(count for _kind, count in figures.by_kind)
    if total:
        lines += [f"\u2022 {KIND_NAMES[kind]}: {count}" for kind, count in figures.by_kind]
        if figures.follow_ups:
            lines.append(f"  (of the crisis alerts, {figures.follow_ups} were follow-up messages)")
    else:
        lines.append("\u2022 none")
    lines += [
        "",
        "Time from the staff chat getting an alert:",
        _spread("\u2022 to acknowledge", figures.to_acknowledge),
        _spread("\u2022 to resolve", figures.to_resolve),
    ]
    if figures.unacknowledged:
        lines.append(f"\u2022 still not acknowledged: {figures.unacknowledged}")
    share = figures.checkins.answered_share
    closed = figures.checkins.closed
    lines += [
        "",
        f"Patients active now: {figures.active_patients};"
        f" answered at least once: {figures.answering_patients}",
        "Check-ins answered: "
        + (
            "none due yet"
            if share is None
            else f"{share:.0%} ({figures.checkins.answered} of {closed})"
        ),
    ]
    return "\n".join(lines)

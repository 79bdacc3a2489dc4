"""The /alerts list: one line per open alert, a patient's crisis messages folded into one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.domain.codes import AlertKind
from bot.domain.entities import Alert
from bot.telegram.staff_texts import local


@dataclass(frozen=True, slots=True)
class ListedAlert:
    """One line of /alerts: the alert the Open button shows, and the others folded in."""

    alert: Alert
    folded: int


def fold(alerts: Sequence[Alert]) -> list[ListedAlert]:
    """Fold each patient's open crisis alerts into one line, keeping the list's order.

    A patient in distress may write many times; each message is its own follow-up alert,
    but staff act on the person once. The line shows the patient's oldest unacknowledged
    crisis alert (the one that repeats until acknowledged; else the newest), with how many
    more there are.
    """
    crises: dict[int, list[Alert]] = {}
    for alert in alerts:
        if alert.kind is AlertKind.CRISIS:
            crises.setdefault(alert.patient_id, []).append(alert)
    listed: list[ListedAlert] = []
    seen: set[int] = set()
    for alert in alerts:
        if alert.kind is not AlertKind.CRISIS:
            listed.append(ListedAlert(alert=alert, folded=0))
            continue
        if alert.patient_id in seen:
            continue
        seen.add(alert.patient_id)
        group = crises[alert.patient_id]
        waiting = [a for a in group if a.acknowledged_at is None]
        shown = waiting[-1] if waiting else group[0]
        listed.append(ListedAlert(alert=shown, folded=len(group) - 1))
    return listed


def heading(count: int) -> str:
    """Return the first line of /alerts."""
    return f"Open alerts ({count}), newest first; tap Open to act on one:"


def line(number: int, listed: ListedAlert, tz: ZoneInfo) -> str:
    """Return one numbered line of /alerts."""
    alert = listed.alert
    state = "acknowledged" if alert.acknowledged_at else "NOT acknowledged"
    headline = alert.text.splitlines()[0] if alert.text else alert.kind.value
    urgent = "URGENT " if alert.urgent and "URGENT" not in headline else ""
    more = ""
    if listed.folded:
        count = listed.folded
        more = f", +{count} more crisis message{'s' if count != 1 else ''}"
    return f"{number}. {urgent}{headline} ({local(alert.created_at, tz)}, {state}{more})"


def more_than_listed(count: int) -> str:
    """Return the last line when not every alert has an Open button."""
    return f"...and {count} more; resolve some to see the rest."

"""What the on-call staff and the staff chat are told when an URGENT alert is escalated."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.entities import Alert, EscalationRound


def minutes(waited: timedelta) -> str:
    """Return a wait as whole minutes, '1 minute' or '25 minutes'."""
    count = max(1, round(waited.total_seconds() / 60))
    return f"{count} minute{'s' if count != 1 else ''}"


def private_copy(alert: Alert, *, waited: timedelta) -> str:
    """Return the private message to an on-call member, above the alert itself."""
    return (
        f"\U0001f6a8 URGENT, not acknowledged for {minutes(waited)}. You are on call: please"
        f" acknowledge it here once someone is reaching {alert.patient_code}.\n\n{alert.text}"
    )


def note(alert: Alert, escalation: EscalationRound) -> str:
    """Return the staff chat's word that an URGENT alert was escalated, and to whom."""
    head = (
        f"\u23f0 {alert.patient_code}: URGENT alert not acknowledged for"
        f" {minutes(escalation.waited)}"
    )
    if escalation.to_owners:
        if not escalation.reached and not escalation.missed:
            return f"{head}. Nobody is on call and no owner is configured: please act here."
        told = (
            f"nobody is on call, so it was sent privately to {len(escalation.reached)} of the"
            f" clinic's {len(escalation.reached) + len(escalation.missed)} owner(s)"
        )
    else:
        told = f"sent privately to the on-call staff: {', '.join(escalation.reached) or 'nobody'}"
        if escalation.missed:
            told += f" (could not reach {', '.join(escalation.missed)})"
    again = " again" if escalation.number > 1 else ""
    return f"{head}; {told}{again}. Acknowledge it to stop this."

"""What the bot says about the staff roster: links, the list, the on-call rota."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.entities import StaffMember
from bot.telegram.staff_texts import local

OWNERS_ONLY = "Only the clinic's owners (AFTERGLOW_ADMIN_IDS) can change the staff roster."
ADD_IN_PRIVATE = (
    "Send /addstaff to me in a private chat: the link lets whoever opens it first use the"
    " staff commands, so it should not be posted in a group."
)
NAME_USAGE = "Usage: /{command} <name>, for example /{command} Dr Rivera"
NO_MEMBERS = "No staff members yet besides the owners. Add one with /addstaff <name>."
LINK_NOT_VALID = (
    "This staff link is not valid any more (used, expired or withdrawn). Ask the clinic's"
    " owner for a new one."
)
ALREADY_MEMBER = "You are already on the staff roster."
PATIENT_CANNOT_JOIN = (
    "This Telegram account is enrolled as a patient, so it cannot also be on the staff roster."
    " Please open the staff link from your own staff account."
)


def staff_link(member: StaffMember, link: str, expires_at: datetime, tz: ZoneInfo) -> str:
    """Return the answer to /addstaff: the one-time link for the new member."""
    return (
        f"{member.name} is added to the staff roster.\n"
        f"Send them this one-time link; it works once, for the first person who opens it,"
        f" and expires on {local(expires_at, tz)} ({tz.key}):\n{link}\n"
        f"Until then they cannot use staff commands. /removestaff {member.name} withdraws it."
    )


def joined(member: StaffMember) -> str:
    """Return the welcome of a member who opened their link."""
    return (
        f"Welcome, {member.name}: you are on the clinic's staff roster and can use the staff"
        " commands here and in the staff chat. Send /help to see them."
    )


def joined_notice(member: StaffMember) -> str:
    """Return the staff chat's notice that a member joined."""
    return f"{member.name} opened their staff link and can now use the staff commands."


def roster(members: Sequence[StaffMember], owners: int, now: datetime, tz: ZoneInfo) -> str:
    """Return the answer to /staff: every member, joined or waiting, and who is on call."""
    lines = [f"Staff roster ({owners} owner{'s' if owners != 1 else ''} configured, not listed):"]
    for member in members:
        if member.joined_at is not None:
            state = "on call" if member.on_call else "joined"
        elif member.expires_at <= now:
            state = "link expired, not joined"
        else:
            state = f"link not opened yet (expires {local(member.expires_at, tz)})"
        lines.append(f"\u2022 {member.name}: {state}")
    on_call = [member.name for member in members if member.on_call and member.joined_at]
    lines.append(
        f"On call: {', '.join(on_call)}"
        if on_call
        else "Nobody is on call: urgent alerts go to the staff chat only."
    )
    return "\n".join(lines)


def on_call_set(member: StaffMember) -> str:
    """Return the answer to /oncall or /offcall."""
    if not member.on_call:
        return f"{member.name} is off call."
    if member.joined_at is None:
        return (
            f"{member.name} is on call, but has not opened their staff link yet: urgent alerts"
            " cannot reach them privately until they do."
        )
    return (
        f"{member.name} is on call: urgent alerts nobody acknowledges in time are sent to"
        " them privately."
    )


def removed(member: StaffMember) -> str:
    """Return the answer to /removestaff."""
    return f"{member.name} is removed from the staff roster; their commands and buttons stop now."

"""Handlers for clinic staff, in the staff group or in a private chat with the bot."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot import texts
from bot.errors import InputError
from storage import PatientOverview

from .common import Context, services, update_id

log = logging.getLogger(__name__)

STAFF_COMMANDS = ("invite", "infusion", "patients")
MAX_MESSAGE = 4000


def _local(moment: datetime | None, tz: ZoneInfo) -> str:
    return "-" if moment is None else moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


async def invite(update: Update, context: Context) -> None:
    """Create a patient with a one-time invitation link."""
    assert update.effective_user is not None
    assert update.effective_message is not None
    svc = services(context)
    label = " ".join(context.args) if context.args else None
    try:
        invitation = await svc.enrolment.invite(
            staff_id=update.effective_user.id, label=label, update_id=update_id(update)
        )
    except InputError as err:
        await update.effective_message.reply_text(str(err))
        return
    if invitation is None:
        return
    tz = svc.settings.timezone
    link = f"https://t.me/{context.bot.username}?start={invitation.token}"
    named = f" ({invitation.patient.label})" if invitation.patient.label else ""
    await update.effective_message.reply_text(
        f"New patient {invitation.patient.code}{named}.\n"
        f"Give them this one-time link; it works once and expires on "
        f"{_local(invitation.expires_at, tz)} ({tz.key}):\n{link}",
        disable_web_page_preview=True,
    )


async def infusion(update: Update, context: Context) -> None:
    """Record an infusion and plan its check-ins."""
    assert update.effective_user is not None
    assert update.effective_message is not None
    svc = services(context)
    try:
        recorded = await svc.care.record_infusion(
            args=context.args or [], staff_id=update.effective_user.id, update_id=update_id(update)
        )
    except InputError as err:
        await update.effective_message.reply_text(str(err))
        return
    if recorded is None:
        return
    tz = svc.settings.timezone
    patient = recorded.patient
    given = _local(recorded.infusion.given_at, tz)
    lines = [f"Infusion recorded for {patient.code} at {given} ({tz.key})."]
    if recorded.first_due is not None:
        first = recorded.first_due.astimezone(ZoneInfo(patient.timezone))
        lines.append(
            f"{recorded.planned} check-ins planned; the first on {first:%Y-%m-%d at %H:%M} "
            f"({patient.timezone})."
        )
    else:
        lines.append("No check-ins left to plan for that date.")
    status = patient.status.value
    if status in {"invited", "consent_pending"}:
        lines.append("The patient has not finished enrolment yet; check-ins start once they do.")
    elif status in {"paused", "stopped", "unreachable"}:
        lines.append(f"Note: the patient is {status}, so nothing will be sent for now.")
    await update.effective_message.reply_text("\n".join(lines))


def _overview_line(row: PatientOverview, tz: ZoneInfo) -> str:
    score = "no answers yet"
    if row.last_score is not None:
        score = f"last {row.last_score}/10 at {_local(row.last_score_at, tz)}"
    label = f" ({row.label})" if row.label else ""
    infusion = _local(row.last_infusion_at, tz)
    return (
        f"{row.code}{label} · {row.status.value.replace('_', ' ')} · {score} · infusion {infusion}"
    )


async def patients(update: Update, context: Context) -> None:
    """List patients with status, last score and last infusion."""
    assert update.effective_message is not None
    svc = services(context)
    rows = await svc.care.overview()
    if not rows:
        await update.effective_message.reply_text("No patients yet. Use /invite to add one.")
        return
    tz = svc.settings.timezone
    chunk = f"Patients ({len(rows)}), times in {tz.key}:"
    for row in rows:
        line = _overview_line(row, tz)
        if len(chunk) + len(line) + 1 > MAX_MESSAGE:
            await update.effective_message.reply_text(chunk)
            chunk = line
        else:
            chunk = f"{chunk}\n{line}"
    await update.effective_message.reply_text(chunk)


async def not_authorised(update: Update, context: Context) -> None:
    """Refuse a staff command from someone who is not staff."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(texts.NOT_AUTHORISED)


def staff_handlers(admin_ids: Collection[int]) -> list[BaseHandler[Update, Context, None]]:
    """Return the staff handlers, authorised for the given Telegram user ids."""
    staff = filters.User(user_id=list(admin_ids)) & filters.UpdateType.MESSAGE
    return [
        CommandHandler("invite", invite, filters=staff),
        CommandHandler("infusion", infusion, filters=staff),
        CommandHandler("patients", patients, filters=staff),
        # Non-staff get a refusal in private; in groups they are ignored.
        CommandHandler(
            list(STAFF_COMMANDS),
            not_authorised,
            filters=filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE,
        ),
    ]

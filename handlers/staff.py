"""Handlers for clinic staff, in the staff group or in a private chat with the bot."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.domain.codes import AuditAction
from bot.domain.errors import InputError
from bot.telegram import staff_replies, staff_texts
from bot.telegram.commands import STAFF_COMMAND_NAMES
from bot.telegram.limits import TEXT_LIMIT, fit, units
from handlers.arguments import patient_argument
from handlers.context import Context, Handler, from_message
from handlers.records import export_handlers
from handlers.staff_alerts import alert_pressed, alerts_command, open_pressed, stats_command
from handlers.staff_roster import roster_handlers

log = logging.getLogger(__name__)

MAX_LISTED = 150


async def invite(update: Update, context: Context) -> None:
    """Create a patient with a one-time invitation link."""
    user_id, message = from_message(update)
    svc = context.services
    label = " ".join(context.args) if context.args else None
    try:
        invitation = await svc.enrolment.invite(
            staff_id=user_id, label=label, update_id=update.update_id
        )
    except InputError as err:
        await message.reply_text(staff_texts.input_problem(err))
        return
    if invitation is None:
        return
    link = f"https://t.me/{context.bot.username}?start={invitation.token}"
    await message.reply_text(
        staff_replies.invitation(invitation, link, svc.clinic.timezone),
        disable_web_page_preview=True,
    )


async def infusion(update: Update, context: Context) -> None:
    """Record an infusion and plan its check-ins."""
    user_id, message = from_message(update)
    svc = context.services
    try:
        recorded = await svc.care.record_infusion(
            args=context.args or [], staff_id=user_id, update_id=update.update_id
        )
    except InputError as err:
        await message.reply_text(staff_texts.input_problem(err))
        return
    if recorded is not None:
        await message.reply_text(staff_replies.infusion_recorded(recorded, svc.clinic.timezone))


async def patients(update: Update, context: Context) -> None:
    """List patients with status, last score and last infusion."""
    _user_id, message = from_message(update)
    svc = context.services
    rows = await svc.care.overview()
    if not rows:
        await message.reply_text(staff_texts.NO_PATIENTS)
        return
    tz = svc.clinic.timezone
    chunk = staff_texts.patients_heading(len(rows), tz)
    for row in rows[:MAX_LISTED]:
        line = staff_texts.overview_line(row, tz)
        if units(chunk) + units(line) + 1 > TEXT_LIMIT:
            await message.reply_text(chunk)
            chunk = line
        else:
            chunk = f"{chunk}\n{line}"
    if len(rows) > MAX_LISTED:
        # A clinic-wide list would flood the chat: the rest are one /patient away.
        chunk += staff_texts.patients_more(len(rows) - MAX_LISTED)
    await message.reply_text(fit(chunk))


async def patient_command(update: Update, context: Context) -> None:
    """Show a patient's summary, chart and recent notes."""
    user_id, message = from_message(update)
    svc = context.services
    patient = await patient_argument(update, context, "patient")
    if patient is None:
        return
    await svc.alerts.audit(
        actor=user_id, action=AuditAction.VIEW_PATIENT, patient=patient, detail=None
    )
    summary = await svc.staff.summary(patient)
    text = staff_replies.summary(summary, now=svc.clock.now(), tz=svc.clinic.timezone)
    await message.reply_text(fit(text))
    chart = await svc.staff.chart(patient, highlight=None)
    await message.reply_photo(chart, caption=staff_texts.chart_caption(patient.code))


async def resolve_command(update: Update, context: Context) -> None:
    """End a patient's open episodes."""
    user_id, message = from_message(update)
    patient = await patient_argument(update, context, "resolve")
    if patient is None:
        return
    count = await context.services.alerts.resolve_patient(patient, staff_id=user_id)
    await message.reply_text(staff_texts.resolved_episodes(patient.code, count))


async def not_authorised(update: Update, context: Context) -> None:
    """Refuse a staff command from someone who is not staff."""
    _user_id, message = from_message(update)
    await message.reply_text(staff_texts.NOT_AUTHORISED)


async def staff_group_help(update: Update, context: Context) -> None:
    """Answer /help in the staff group with the staff commands."""
    _user_id, message = from_message(update)
    await message.reply_text(staff_texts.staff_help())


async def group_migrated(update: Update, context: Context) -> None:
    """Follow the staff group when Telegram upgrades it to a supergroup."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id is not None:
        old, new = message.chat_id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id is not None:
        old, new = message.migrate_from_chat_id, message.chat_id
    else:
        return
    await context.services.alerts.group_migrated(old, new)


def staff_handlers(staff_users: filters.User, staff_chats: filters.Chat) -> list[Handler]:
    """Return the staff handlers: staff users, in a private chat or the staff chat only.

    Patient summaries, notes and charts must not appear in any other group the bot is in.
    `staff_users` holds the owners and the roster's joined members; the roster adds and
    removes ids in it as members join and are removed.
    """
    staff = staff_users & (filters.ChatType.PRIVATE | staff_chats) & filters.UpdateType.MESSAGE
    return [
        MessageHandler(filters.StatusUpdate.MIGRATE, group_migrated),
        CommandHandler("invite", invite, filters=staff),
        CommandHandler("infusion", infusion, filters=staff),
        CommandHandler("patients", patients, filters=staff),
        CommandHandler("alerts", alerts_command, filters=staff),
        CommandHandler("patient", patient_command, filters=staff),
        CommandHandler("resolve", resolve_command, filters=staff),
        CommandHandler("stats", stats_command, filters=staff),
        *roster_handlers(staff),
        *export_handlers(staff),
        CommandHandler("help", staff_group_help, filters=staff_chats & filters.UpdateType.MESSAGE),
        CallbackQueryHandler(alert_pressed, pattern=r"^al:"),
        CallbackQueryHandler(open_pressed, pattern=r"^ao:"),
        # Non-staff get a refusal in private; in groups they are ignored.
        CommandHandler(
            sorted(STAFF_COMMAND_NAMES),
            not_authorised,
            filters=filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE,
        ),
    ]

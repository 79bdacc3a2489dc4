"""Handlers for clinic staff, in the staff group or in a private chat with the bot."""

from __future__ import annotations

import logging
from collections.abc import Collection

from telegram import Update
from telegram.constants import MessageLimit
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.domain.codes import AuditAction
from bot.domain.entities import Alert, Patient
from bot.domain.errors import InputError
from bot.telegram import keyboards, staff_replies, staff_texts, texts
from bot.telegram.commands import STAFF_COMMAND_NAMES
from handlers.context import Context, Handler, from_message

log = logging.getLogger(__name__)

TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH
CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH
MAX_LISTED = 150


def _units(text: str) -> int:
    """Return the length Telegram counts: UTF-16 code units (an emoji can be two)."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str) -> str:
    """Cut text to Telegram's message limit in UTF-16 units, never through a character."""
    while _units(text) > TEXT_LIMIT:
        text = text[: -max(1, (_units(text) - TEXT_LIMIT) // 2)]
    return text


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
        if _units(chunk) + _units(line) + 1 > TEXT_LIMIT:
            await message.reply_text(chunk)
            chunk = line
        else:
            chunk = f"{chunk}\n{line}"
    if len(rows) > MAX_LISTED:
        # A clinic-wide list would flood the chat: the rest are one /patient away.
        chunk += staff_texts.patients_more(len(rows) - MAX_LISTED)
    await message.reply_text(_fit(chunk))


async def _edit_alert(update: Update, text: str, *, buttons: bool, alert: Alert) -> None:
    """Show the alert's new state on the message that was pressed."""
    query = update.callback_query
    assert query is not None
    markup = keyboards.alert_keyboard(alert.id, acknowledged=True) if buttons else None
    try:
        if query.message is not None and getattr(query.message, "photo", None):
            await query.edit_message_caption(caption=text[:CAPTION_LIMIT], reply_markup=markup)
        else:
            await query.edit_message_text(_fit(text), reply_markup=markup)
    except TelegramError:
        log.info("alert.edit_failed alert=%d", alert.id)


async def alert_pressed(update: Update, context: Context) -> None:
    """Acknowledge or resolve an alert from its buttons (staff only)."""
    query = update.callback_query
    assert query is not None
    assert update.effective_user is not None
    svc = context.services
    staff = update.effective_user
    action = keyboards.parse_alert_action(query.data or "")
    if action is None:
        # Not an alert button at all (python-telegram-bot matches a press without data
        # to every pattern): the presser is told it is no longer valid, whoever they are.
        await query.answer(texts.BUTTON_INVALID)
        return
    if not svc.is_staff(staff.id):
        await query.answer(staff_texts.NOT_AUTHORISED)
        return
    message = query.message
    if message is None or not await svc.alerts.pressed_on_its_message(
        action.alert_id, message.chat.id, message.message_id
    ):
        # A button copied onto another message (a modified client) would relabel another
        # alert or carry a patient's words elsewhere: it does nothing.
        await query.answer(texts.BUTTON_INVALID)
        return
    acknowledging = action.action is keyboards.AlertButton.ACKNOWLEDGE
    if acknowledging:
        alert = await svc.alerts.acknowledge(action.alert_id, staff_id=staff.id)
    else:
        alert = await svc.alerts.resolve(action.alert_id, staff_id=staff.id)
    if alert is None:
        existing = await svc.alerts.get(action.alert_id)
        already = (
            staff_texts.ALREADY_ACKNOWLEDGED if acknowledging else staff_texts.ALREADY_RESOLVED
        )
        await query.answer(already if existing is not None else texts.BUTTON_INVALID)
        return
    verb = staff_texts.ACKNOWLEDGED if acknowledging else staff_texts.RESOLVED
    await query.answer(verb)
    who = staff.first_name or str(staff.id)
    text = staff_texts.handled(alert, verb, who, svc.clock.now(), svc.clinic.timezone)
    await _edit_alert(update, text, buttons=acknowledging, alert=alert)


async def alerts_command(update: Update, context: Context) -> None:
    """List the open alerts."""
    _user_id, message = from_message(update)
    svc = context.services
    open_alerts = await svc.alerts.open_alerts()
    if not open_alerts:
        await message.reply_text(staff_texts.NO_OPEN_ALERTS)
        return
    tz = svc.clinic.timezone
    lines = [staff_texts.alerts_heading(len(open_alerts))]
    lines += [staff_texts.alert_line(alert, tz) for alert in open_alerts]
    await message.reply_text(_fit("\n".join(lines)))


async def _patient_argument(update: Update, context: Context, command: str) -> Patient | None:
    """Return the patient named by the one argument, or reply with what is wrong."""
    _user_id, message = from_message(update)
    if not context.args or len(context.args) != 1:
        await message.reply_text(staff_texts.usage(command))
        return None
    try:
        return await context.services.staff.find(context.args[0])
    except InputError as err:
        await message.reply_text(staff_texts.input_problem(err))
        return None


async def patient_command(update: Update, context: Context) -> None:
    """Show a patient's summary, chart and recent notes."""
    user_id, message = from_message(update)
    svc = context.services
    patient = await _patient_argument(update, context, "patient")
    if patient is None:
        return
    await svc.alerts.audit(
        actor=user_id, action=AuditAction.VIEW_PATIENT, patient=patient, detail=None
    )
    summary = await svc.staff.summary(patient)
    text = staff_replies.summary(summary, now=svc.clock.now(), tz=svc.clinic.timezone)
    await message.reply_text(_fit(text))
    chart = await svc.staff.chart(patient, highlight=None)
    await message.reply_photo(chart, caption=staff_texts.chart_caption(patient.code))


async def resolve_command(update: Update, context: Context) -> None:
    """End a patient's open episodes."""
    user_id, message = from_message(update)
    patient = await _patient_argument(update, context, "resolve")
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


def staff_handlers(admin_ids: Collection[int], staff_chats: filters.Chat) -> list[Handler]:
    """Return the staff handlers: staff users, in a private chat or the staff chat only.

    Patient summaries, notes and charts must not appear in any other group the bot is in.
    """
    staff = (
        filters.User(user_id=list(admin_ids))
        & (filters.ChatType.PRIVATE | staff_chats)
        & filters.UpdateType.MESSAGE
    )
    return [
        MessageHandler(filters.StatusUpdate.MIGRATE, group_migrated),
        CommandHandler("invite", invite, filters=staff),
        CommandHandler("infusion", infusion, filters=staff),
        CommandHandler("patients", patients, filters=staff),
        CommandHandler("alerts", alerts_command, filters=staff),
        CommandHandler("patient", patient_command, filters=staff),
        CommandHandler("resolve", resolve_command, filters=staff),
        CommandHandler("help", staff_group_help, filters=staff_chats & filters.UpdateType.MESSAGE),
        CallbackQueryHandler(alert_pressed, pattern=r"^al:"),
        # Non-staff get a refusal in private; in groups they are ignored.
        CommandHandler(
            sorted(STAFF_COMMAND_NAMES),
            not_authorised,
            filters=filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE,
        ),
    ]

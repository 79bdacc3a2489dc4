"""Handlers for working through alerts: their buttons, /alerts with Open, and /stats."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.domain.entities import Alert
from bot.telegram import alert_list, keyboards, staff_texts, stats_texts, texts
from bot.telegram.limits import CAPTION_LIMIT, TEXT_LIMIT, fit, units
from handlers.context import Context, from_button, from_message

log = logging.getLogger(__name__)

MAX_BUTTONS = 40


async def _edit_alert(update: Update, text: str, *, buttons: bool, alert: Alert) -> None:
    """Show the alert's new state on the message that was pressed."""
    query = update.callback_query
    assert query is not None
    markup = keyboards.alert_keyboard(alert.id, acknowledged=True) if buttons else None
    try:
        if query.message is not None and getattr(query.message, "photo", None):
            await query.edit_message_caption(caption=text[:CAPTION_LIMIT], reply_markup=markup)
        else:
            await query.edit_message_text(fit(text), reply_markup=markup)
    except TelegramError:
        log.info("alert.edit_failed alert=%d", alert.id)


async def _tell_staff_chat(context: Context, chat_id: int, text: str) -> None:
    """Tell the staff chat what was done on an alert elsewhere (a private copy)."""
    staff_chat = await context.services.alerts.staff_chat_id()
    if chat_id == staff_chat:
        return
    try:
        await context.bot.send_message(staff_chat, fit(text))
    except TelegramError:
        log.warning("alert.handled_notice_failed")


async def alert_pressed(update: Update, context: Context) -> None:
    """Acknowledge or resolve an alert from its buttons (staff only)."""
    staff_id, query = from_button(update)
    svc = context.services
    action = keyboards.parse_alert_action(query.data or "")
    if action is None:
        # Not an alert button at all (python-telegram-bot matches a press without data
        # to every pattern): the presser is told it is no longer valid, whoever they are.
        await query.answer(texts.BUTTON_INVALID)
        return
    if not svc.is_staff(staff_id):
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
        alert = await svc.alerts.acknowledge(action.alert_id, staff_id=staff_id)
    else:
        alert = await svc.alerts.resolve(action.alert_id, staff_id=staff_id)
    if alert is None:
        existing = await svc.alerts.get(action.alert_id)
        already = (
            staff_texts.ALREADY_ACKNOWLEDGED if acknowledging else staff_texts.ALREADY_RESOLVED
        )
        await query.answer(already if existing is not None else texts.BUTTON_INVALID)
        return
    verb = staff_texts.ACKNOWLEDGED if acknowledging else staff_texts.RESOLVED
    await query.answer(verb)
    assert update.effective_user is not None
    who = update.effective_user.first_name or str(staff_id)
    text = staff_texts.handled(alert, verb, who, svc.clock.now(), svc.clinic.timezone)
    await _edit_alert(update, text, buttons=acknowledging, alert=alert)
    await _tell_staff_chat(
        context, message.chat.id, staff_texts.handled_elsewhere(alert, verb, who)
    )


async def alerts_command(update: Update, context: Context) -> None:
    """List the open alerts, a patient's crisis messages folded, with an Open button each."""
    _user_id, message = from_message(update)
    svc = context.services
    listed = alert_list.fold(await svc.alerts.open_alerts())
    if not listed:
        await message.reply_text(staff_texts.NO_OPEN_ALERTS)
        return
    tz = svc.clinic.timezone
    text = alert_list.heading(len(listed))
    shown: list[int] = []
    for number, entry in enumerate(listed[:MAX_BUTTONS], start=1):
        line = alert_list.line(number, entry, tz)
        if units(text) + units(line) + 200 > TEXT_LIMIT:
            break
        text = f"{text}\n{line}"
        shown.append(entry.alert.id)
    if len(shown) < len(listed):
        text = f"{text}\n{alert_list.more_than_listed(len(listed) - len(shown))}"
    await message.reply_text(text, reply_markup=keyboards.open_alerts_keyboard(shown))


async def open_pressed(update: Update, context: Context) -> None:
    """Show a listed alert again with its own buttons, in the chat where /alerts was."""
    staff_id, query = from_button(update)
    svc = context.services
    alert_id = keyboards.parse_open_alert(query.data or "")
    message = query.message
    if alert_id is None or message is None:
        await query.answer(texts.BUTTON_INVALID)
        return
    if not svc.is_staff(staff_id):
        await query.answer(staff_texts.NOT_AUTHORISED)
        return
    in_private = message.chat.type == ChatType.PRIVATE and message.chat.id == staff_id
    if not in_private and message.chat.id != await svc.alerts.staff_chat_id():
        # The alert quotes a patient: it is shown only where /alerts may be used.
        await query.answer(texts.BUTTON_INVALID)
        return
    alert = await svc.alerts.get(alert_id)
    if alert is None or alert.resolved_at is not None:
        await query.answer(staff_texts.ALREADY_RESOLVED if alert else texts.BUTTON_INVALID)
        return
    await query.answer()
    markup = keyboards.alert_keyboard(alert.id, acknowledged=alert.acknowledged_at is not None)
    sent = await context.bot.send_message(message.chat.id, fit(alert.text), reply_markup=markup)
    await svc.escalation.copied(alert.id, chat_id=sent.chat_id, message_id=sent.message_id)


async def stats_command(update: Update, context: Context) -> None:
    """Show the last 30 days: alerts by kind, response times, patients and check-ins."""
    _user_id, message = from_message(update)
    svc = context.services
    stats = await svc.stats.last_days()
    await message.reply_text(stats_texts.stats(stats, svc.clinic.timezone))

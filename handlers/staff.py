"""Handlers for clinic staff, in the staff group or in a private chat with the bot."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.domain.entities import Alert, Patient, PatientOverview
from bot.domain.errors import InputError
from bot.telegram import texts
from bot.telegram.keyboards import alert_keyboard, parse_alert_action

from .common import Context, services, update_id

log = logging.getLogger(__name__)

STAFF_COMMANDS = ("invite", "infusion", "patients", "alerts", "patient", "resolve")
MAX_MESSAGE = 4000
MAX_LISTED = 150


def _units(text: str) -> int:
    """Return the length Telegram counts: UTF-16 code units (an emoji can be two)."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str) -> str:
    """Cut text to MAX_MESSAGE UTF-16 units, never through a character."""
    while _units(text) > MAX_MESSAGE:
        text = text[: -max(1, (_units(text) - MAX_MESSAGE) // 2)]
    return text


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
    if recorded.newer is not None:
        lines.append(
            f"A later infusion ({_local(recorded.newer.given_at, tz)}) is already recorded, so"
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
    chunk = f"Patients ({len(rows)}), newest first, times in {tz.key}:"
    for row in rows[:MAX_LISTED]:
        line = _overview_line(row, tz)
        if _units(chunk) + _units(line) + 1 > MAX_MESSAGE:
            await update.effective_message.reply_text(chunk)
            chunk = line
        else:
            chunk = f"{chunk}\n{line}"
    if len(rows) > MAX_LISTED:
        # A clinic-wide list would flood the chat: the rest are one /patient away.
        chunk += f"\n... and {len(rows) - MAX_LISTED} more; see /patient <code> for one patient."
    await update.effective_message.reply_text(chunk)


def _stamp(alert: Alert, verb: str, who: str, tz: ZoneInfo, at: datetime) -> str:
    return f"{alert.text}\n\n{verb} by {who} at {_local(at, tz)}"


async def _edit_alert(update: Update, text: str, *, buttons: bool, alert: Alert) -> None:
    """Show the alert's new state on the message that was pressed."""
    query = update.callback_query
    assert query is not None
    markup = alert_keyboard(alert.id, acknowledged=True) if buttons else None
    try:
        if query.message is not None and getattr(query.message, "photo", None):
            await query.edit_message_caption(caption=text[:1024], reply_markup=markup)
        else:
            await query.edit_message_text(text[:4096], reply_markup=markup)
    except TelegramError:
        log.info("alert.edit_failed alert=%d", alert.id)


async def alert_pressed(update: Update, context: Context) -> None:
    """Acknowledge or resolve an alert from its buttons (staff only)."""
    query = update.callback_query
    assert query is not None
    assert update.effective_user is not None
    svc = services(context)
    if not svc.is_staff(update.effective_user.id):
        await query.answer(texts.NOT_AUTHORISED)
        return
    action = parse_alert_action(query.data or "")
    if action is None:
        await query.answer(texts.BUTTON_INVALID)
        return
    who = update.effective_user.first_name or str(update.effective_user.id)
    tz = svc.settings.timezone
    now = svc.clock.now()
    if action.action == "ack":
        alert = await svc.alerts.acknowledge(action.alert_id, staff_id=update.effective_user.id)
        if alert is None:
            existing = await svc.alerts.get(action.alert_id)
            await query.answer(
                "Already acknowledged." if existing is not None else texts.BUTTON_INVALID
            )
            return
        await query.answer("Acknowledged")
        await _edit_alert(
            update, _stamp(alert, "Acknowledged", who, tz, now), buttons=True, alert=alert
        )
        return
    alert = await svc.alerts.resolve(action.alert_id, staff_id=update.effective_user.id)
    if alert is None:
        existing = await svc.alerts.get(action.alert_id)
        await query.answer("Already resolved." if existing is not None else texts.BUTTON_INVALID)
        return
    await query.answer("Resolved")
    await _edit_alert(update, _stamp(alert, "Resolved", who, tz, now), buttons=False, alert=alert)


async def alerts_command(update: Update, context: Context) -> None:
    """List the open alerts."""
    assert update.effective_message is not None
    svc = services(context)
    open_alerts = await svc.alerts.open_alerts()
    if not open_alerts:
        await update.effective_message.reply_text("No open alerts.")
        return
    tz = svc.settings.timezone
    lines = [f"Open alerts ({len(open_alerts)}):"]
    for alert in open_alerts:
        state = "acknowledged" if alert.acknowledged_at else "NOT acknowledged"
        urgent = "URGENT " if alert.urgent else ""
        headline = alert.text.splitlines()[0] if alert.text else alert.kind
        lines.append(f"· {urgent}{headline} ({_local(alert.created_at, tz)}, {state})")
    await update.effective_message.reply_text(_fit("\n".join(lines)))


async def _patient_argument(update: Update, context: Context, command: str) -> Patient | None:
    """Return the patient named by the one argument, or reply with what is wrong."""
    assert update.effective_message is not None
    if not context.args or len(context.args) != 1:
        await update.effective_message.reply_text(
            f"Usage: /{command} <code>, for example /{command} P-7K3Q"
        )
        return None
    try:
        return await services(context).staff.find(context.args[0])
    except InputError as err:
        await update.effective_message.reply_text(str(err))
        return None


async def patient_command(update: Update, context: Context) -> None:
    """Show a patient's summary, chart and recent notes."""
    assert update.effective_message is not None
    assert update.effective_user is not None
    svc = services(context)
    patient = await _patient_argument(update, context, "patient")
    if patient is None:
        return
    await svc.alerts.audit(
        actor=update.effective_user.id, action="view patient", patient=patient, detail=None
    )
    summary = await svc.staff.summary(patient)
    await update.effective_message.reply_text(svc.staff.summary_text(summary)[:MAX_MESSAGE])
    chart = await svc.staff.chart(patient, highlight=None)
    await update.effective_message.reply_photo(chart, caption=f"{patient.code}: mood chart")


async def resolve_command(update: Update, context: Context) -> None:
    """End a patient's open episodes."""
    assert update.effective_message is not None
    assert update.effective_user is not None
    svc = services(context)
    patient = await _patient_argument(update, context, "resolve")
    if patient is None:
        return
    count = await svc.alerts.resolve_patient(patient, staff_id=update.effective_user.id)
    if count:
        await update.effective_message.reply_text(
            f"Resolved {count} open episode{'s' if count != 1 else ''} of {patient.code}."
        )
    else:
        await update.effective_message.reply_text(f"{patient.code} has no open episodes.")


async def not_authorised(update: Update, context: Context) -> None:
    """Refuse a staff command from someone who is not staff."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(texts.NOT_AUTHORISED)


async def staff_group_help(update: Update, context: Context) -> None:
    """Answer /help in the staff group with the staff commands."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(texts.STAFF_HELP)


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
    await services(context).alerts.group_migrated(old, new)


def staff_handlers(
    admin_ids: Collection[int], staff_chats: filters.Chat
) -> list[BaseHandler[Update, Context, None]]:
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
            list(STAFF_COMMANDS),
            not_authorised,
            filters=filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE,
        ),
    ]

"""Patients' own controls: the check-in time, pausing, resuming and stopping."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Update
from telegram.error import TelegramError

from bot.domain.codes import PatientStatus
from bot.domain.entities import Patient
from bot.domain.errors import InputError
from bot.telegram import keyboards, texts
from handlers.context import Context, from_button, from_message

log = logging.getLogger(__name__)


async def current_patient(update: Update, context: Context) -> Patient | None:
    """Return the sender's patient record, replying with the reason when there is none."""
    user_id, message = from_message(update)
    svc = context.services
    patient = await svc.checkins.patient_for(user_id)
    if patient is None:
        await message.reply_text(texts.NOT_INVITED)
        return None
    if patient.status is PatientStatus.CONSENT_PENDING:
        await message.reply_text(texts.NOT_ACTIVE_YET)
        return None
    if patient.status is PatientStatus.STOPPED:
        await message.reply_text(texts.ALREADY_STOPPED)
        return None
    if patient.status is PatientStatus.UNREACHABLE:
        reactivated = await svc.care.reactivate(patient)
        if reactivated is not None:
            await message.reply_text(texts.WELCOME_BACK)
            return reactivated
    return patient


async def drop_buttons(query: CallbackQuery, code: str) -> None:
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except TelegramError:
        log.info("buttons.edit_failed code=%s", code)


async def time_pressed(update: Update, context: Context) -> None:
    """Set the daily check-in time from a time button."""
    user_id, query = from_button(update)
    svc = context.services
    hhmm = keyboards.parse_time(query.data or "")
    patient = await svc.checkins.patient_for(user_id)
    if (
        hhmm is None
        or patient is None
        or patient.status not in {PatientStatus.ACTIVE, PatientStatus.PAUSED}
    ):
        await query.answer(texts.BUTTON_INVALID)
        return
    chosen, moved = await svc.care.change_time(patient, hhmm)
    await query.answer(texts.time_saved(chosen))
    await drop_buttons(query, patient.code)
    await context.bot.send_message(
        patient.chat_id or user_id, texts.time_set(chosen, patient.timezone, moved)
    )


async def time_command(update: Update, context: Context) -> None:
    """Show the time buttons, or set the time given as /time HH:MM."""
    _user_id, message = from_message(update)
    patient = await current_patient(update, context)
    if patient is None:
        return
    svc = context.services
    if not context.args:
        current = patient.checkin_time or svc.protocol.default_time.strftime("%H:%M")
        await message.reply_text(
            texts.your_time(current, patient.timezone),
            reply_markup=keyboards.time_keyboard(svc.care.time_choices()),
        )
        return
    if len(context.args) != 1:
        await message.reply_text(texts.TIME_BAD)
        return
    try:
        chosen, moved = await svc.care.change_time(patient, context.args[0])
    except InputError:
        await message.reply_text(texts.TIME_BAD)
        return
    await message.reply_text(texts.time_set(chosen, patient.timezone, moved))


async def pause_command(update: Update, context: Context) -> None:
    """Pause check-ins."""
    _user_id, message = from_message(update)
    patient = await current_patient(update, context)
    if patient is None:
        return
    paused = await context.services.care.pause(patient)
    await message.reply_text(texts.PAUSED if paused else texts.ALREADY_PAUSED)


async def resume_command(update: Update, context: Context) -> None:
    """Resume paused check-ins."""
    user_id, message = from_message(update)
    before = await context.services.checkins.patient_for(user_id)
    patient = await current_patient(update, context)
    if patient is None:
        return
    if before is not None and before.status is PatientStatus.UNREACHABLE:
        return  # _current_patient has just brought them back and said so
    resumed = await context.services.care.resume(patient)
    await message.reply_text(texts.RESUMED if resumed else texts.NOT_PAUSED)


async def stop_command(update: Update, context: Context) -> None:
    """Say what stopping means and ask to confirm it (one tap)."""
    user_id, message = from_message(update)
    patient = await context.services.checkins.patient_for(user_id)
    if patient is None:
        await message.reply_text(texts.NOT_INVITED)
        return
    if patient.status is PatientStatus.STOPPED:
        await message.reply_text(texts.ALREADY_STOPPED)
        return
    await message.reply_text(texts.STOP_CONFIRM, reply_markup=keyboards.stop_keyboard())


async def stop_pressed(update: Update, context: Context) -> None:
    """Stop all check-ins and messages once the patient confirmed; or keep them."""
    user_id, query = from_button(update)
    svc = context.services
    patient = await svc.checkins.patient_for(user_id)
    confirmed = keyboards.parse_stop(query.data or "")
    if patient is None or confirmed is None:
        await query.answer(texts.BUTTON_INVALID)
        return
    await query.answer()
    await drop_buttons(query, patient.code)
    chat_id = patient.chat_id or user_id
    if not confirmed:
        await context.bot.send_message(chat_id, texts.STOP_KEPT)
        return
    stopped = await svc.care.stop(patient)
    await context.bot.send_message(chat_id, texts.STOPPED if stopped else texts.ALREADY_STOPPED)

"""Patients' data rights: /deletemydata, and what old buttons do once there is no record."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler, CommandHandler, filters

from bot.domain.crisis import Assessment, Layer
from bot.services.privacy import DeleteOutcome
from bot.telegram import keyboards, privacy_texts
from bot.telegram.questionnaire_texts import is_safety_answer, parse_press
from handlers.context import Context, Handler, from_button, from_message

log = logging.getLogger(__name__)

PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE


async def delete_command(update: Update, context: Context) -> None:
    """Say what deleting removes, and ask to confirm it with a Delete button."""
    user_id, message = from_message(update)
    svc = context.services
    patient = await svc.privacy.patient_for(user_id)
    if patient is None:
        await message.reply_text(privacy_texts.NOTHING_TO_DELETE)
        return
    await message.reply_text(
        privacy_texts.delete_confirm(keep_clinical=svc.privacy.keeps_clinical_record),
        reply_markup=keyboards.delete_keyboard(patient.id),
    )


async def delete_pressed(update: Update, context: Context) -> None:
    """Delete the presser's data once they confirmed; or keep it."""
    user_id, query = from_button(update)
    svc = context.services
    choice = keyboards.parse_delete(query.data or "")
    if choice is None:
        await query.answer(privacy_texts.OUT_OF_DATE)
        return
    if choice.patient_id is None:
        await query.answer()
        await _drop_buttons(query)
        if query.message is not None:
            await query.get_bot().send_message(query.message.chat.id, privacy_texts.KEPT)
        return
    outcome = await svc.privacy.delete(user_id=user_id, patient_id=choice.patient_id)
    if outcome is DeleteOutcome.NOT_A_PATIENT:
        await query.answer(privacy_texts.NOTHING_TO_DELETE)
        return
    if outcome is DeleteOutcome.OUT_OF_DATE:
        await query.answer(privacy_texts.OUT_OF_DATE)
        return
    await query.answer()
    await _drop_buttons(query)
    await query.get_bot().send_message(user_id, privacy_texts.deleted(svc.clinic.contacts))


async def _drop_buttons(query: CallbackQuery) -> None:
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except TelegramError:
        log.info("privacy.buttons_edit_failed")


async def button_gate(update: Update, context: Context) -> None:
    """Answer a button in someone's own private chat when they have no record any more.

    That is a person who deleted their data (or whose buttons outlived their record): the
    button does nothing and says so, and no other handler sees it. Buttons pressed on
    another chat's message, and staff buttons, go on to the handlers that refuse them.
    """
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.message is None:
        return
    chat = query.message.chat
    if chat.type != ChatType.PRIVATE or chat.id != user.id:
        return
    svc = context.services
    if svc.is_staff(user.id) or await svc.privacy.patient_for(user.id) is not None:
        return
    log.info("button.no_record")
    if not _is_safety_signal(query.data or ""):
        await query.answer(privacy_texts.NO_FOLLOW_UP)
    else:
        await query.answer()
        # "Yes" under the direct safety question, or PHQ-9 item 9 above "Not at all", from
        # someone whose record is gone: never nothing. The resources, and a human is told.
        log.warning("button.safety_signal_without_record")
        await svc.safety.escalate(
            user_id=user.id,
            chat_id=chat.id,
            text=privacy_texts.SAFETY_PRESS_WITHOUT_RECORD,
            assessment=Assessment(layer=Layer.URGENT, category="safety-answer"),
            update_id=update.update_id,
        )
    raise ApplicationHandlerStop


def _is_safety_signal(data: str) -> bool:
    """Tell whether button data says yes to the safety question or PHQ-9 item 9 above 0."""
    question = keyboards.parse_question(data)
    if question is not None:
        return question.yes
    return is_safety_answer(parse_press(data))


PRIVACY_HANDLERS: list[Handler] = [
    CommandHandler("deletemydata", delete_command, filters=PRIVATE),
    CallbackQueryHandler(delete_pressed, pattern=r"^dd:"),
]

BUTTON_GATE: list[Handler] = [CallbackQueryHandler(button_gate, pattern=r"^(?!al:|ao:)")]
"""Runs before the other handlers (group -1), like the safety gate for messages.

Staff buttons (alerts) are left to the staff handlers, which refuse non-staff themselves.
"""

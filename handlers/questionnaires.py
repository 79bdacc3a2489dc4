"""Patients' questionnaires: /phq9 and /gad7, and the option, Back and Skip buttons."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.domain.codes import PatientStatus
from bot.domain.crisis import Assessment, Layer
from bot.services.questionnaires import Step, StepKind
from bot.telegram import questionnaire_texts as qt
from bot.telegram import texts
from handlers.context import Context, Handler, from_button, from_message

log = logging.getLogger(__name__)

PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE

_PLAIN = {
    StepKind.ALREADY_DONE: qt.ALREADY_DONE,
    StepKind.EXPIRED: qt.EXPIRED,
    StepKind.NOT_ENROLLED: qt.NOT_ENROLLED,
    StepKind.UNKNOWN: qt.UNKNOWN,
}


async def _begin(update: Update, context: Context, instrument: str) -> None:
    user_id, message = from_message(update)
    svc = context.services
    patient = await svc.checkins.patient_for(user_id)
    # Back after blocking the bot: welcome them as every other command does.
    if (
        patient is not None
        and patient.status is PatientStatus.UNREACHABLE
        and await svc.care.reactivate(patient) is not None
    ):
        await message.reply_text(texts.WELCOME_BACK)
    step = await svc.questionnaires.request(
        user_id=user_id, instrument=instrument, update_id=update.update_id
    )
    if step.kind in (StepKind.REPEATED, StepKind.UNKNOWN):
        # The same update delivered again: it was answered the first time.
        log.info("questionnaire.command_ignored instrument=%s", instrument)
        return
    if step.kind is not StepKind.ASK or step.response is None or step.questionnaire is None:
        await message.reply_text(_PLAIN.get(step.kind, qt.UNKNOWN))
        return
    opening = qt.intro(step.response.origin, step.questionnaire, resumed=step.resumed)
    if step.resumed and step.response.instrument != instrument:
        opening = f"{qt.OTHER_OPEN}\n\n{opening}"
    await message.reply_text(
        qt.item_text(step.response, step.questionnaire, intro=opening),
        reply_markup=qt.item_keyboard(step.response, step.questionnaire),
    )


async def phq9_command(update: Update, context: Context) -> None:
    """Start (or resume) a PHQ-9."""
    await _begin(update, context, "phq9")


async def gad7_command(update: Update, context: Context) -> None:
    """Start (or resume) a GAD-7."""
    await _begin(update, context, "gad7")


async def questionnaire_pressed(update: Update, context: Context) -> None:
    """Take a press on an option, Back or Skip, and show the next item or the result."""
    user_id, query = from_button(update)
    press = qt.parse_press(query.data or "")
    if press is None:
        await _answer(query, qt.UNKNOWN)
        return
    service = context.services.questionnaires
    if press.action == "answer":
        try:
            step = await service.answer(
                user_id=user_id,
                response_id=press.response_id,
                index=press.index,
                value=press.value,
            )
        except Exception:
            if qt.is_safety_answer(press):
                # The record could not be read or written: PHQ-9 item 9 above zero still
                # gets the crisis resources and reaches a human (the urgent path copes
                # without the database).
                await context.services.safety.escalate(
                    user_id=user_id,
                    chat_id=user_id,
                    text=qt.SAFETY_PRESS_UNREADABLE,
                    assessment=Assessment(layer=Layer.URGENT, category="safety-answer"),
                    update_id=update.update_id,
                )
            raise
    elif press.action == "back":
        step = await service.back(
            user_id=user_id, response_id=press.response_id, index=press.index
        )
    else:
        step = await service.skip(
            user_id=user_id, response_id=press.response_id, index=press.index
        )
    if step.kind is StepKind.UNKNOWN:
        # Not theirs, or no such administration: the message pressed is left as it is.
        await _answer(query, qt.UNKNOWN)
        return
    await _answer(query, qt.ALREADY_DONE if step.kind is StepKind.ALREADY_DONE else None)
    await _show(query, step)


async def _answer(query: CallbackQuery, text: str | None) -> None:
    """Answer the press; a press delivered again was answered the first time."""
    try:
        await query.answer(text)
    except TelegramError as err:
        log.info("questionnaire.answer_failed error=%s", type(err).__name__)


async def _show(query: CallbackQuery, step: Step) -> None:
    if step.kind is StepKind.ASK and step.response is not None and step.questionnaire is not None:
        text = qt.item_text(step.response, step.questionnaire)
        markup = qt.item_keyboard(step.response, step.questionnaire)
    elif (
        step.kind in (StepKind.DONE, StepKind.ALREADY_DONE)
        and step.response is not None
        and step.questionnaire is not None
    ):
        # Also for a second press on the last item: the result stays on screen.
        text, markup = qt.completed(step.response, step.questionnaire), None
    else:
        text, markup = _PLAIN.get(step.kind, qt.UNKNOWN), None
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as err:
        # The same item shown again (a double press) is "message is not modified": fine.
        if "not modified" not in str(err).lower():
            log.info("questionnaire.edit_failed error=%s", type(err).__name__)
    except TelegramError as err:
        log.info("questionnaire.edit_failed error=%s", type(err).__name__)


QUESTIONNAIRE_HANDLERS: list[Handler] = [
    CommandHandler("phq9", phq9_command, filters=PRIVATE),
    CommandHandler("gad7", gad7_command, filters=PRIVATE),
    CallbackQueryHandler(questionnaire_pressed, pattern=r"^q[abs]:"),
]

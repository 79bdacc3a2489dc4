"""The safety gate: every private message's words are checked for crisis language first."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler, MessageHandler, filters

from bot.domain.crisis import Layer
from bot.services.enrolment import GENERATED_TOKEN
from bot.services.questions import AnswerOutcome
from bot.telegram import keyboards, texts
from bot.telegram.commands import STAFF_COMMAND_NAMES
from handlers.context import Context, Handler, from_button

log = logging.getLogger(__name__)


def own_words(text: str, from_staff: bool) -> str:
    """Return the part of a private message that is the sender's own words to check.

    Two kinds of text are not: a staff command from staff (it describes a patient, as in
    "/invite history of self-harm"), and an invitation token after /start (machine-made,
    and 43 random characters can happen to read like crisis slang). Everything else is
    checked, including other commands and any words after /start.
    """
    if not text.startswith("/"):
        return text
    command, _, rest = text.partition(" ")
    name = command[1:].split("@", 1)[0].lower()
    if from_staff and name in STAFF_COMMAND_NAMES:
        return ""
    if name == "start" and GENERATED_TOKEN.fullmatch(rest.strip()):
        return ""
    return text


async def safety_gate(update: Update, context: Context) -> None:
    """Check every private message's words (text, caption, command, edit) for crisis language.

    Runs before every other handler; on a signal the patient gets the crisis resources and
    the staff an urgent alert at once, and nothing else handles the message.
    """
    assert update.effective_user is not None
    assert update.effective_message is not None
    message = update.effective_message
    svc = context.services
    words = own_words(
        message.text or message.caption or "",
        svc.is_staff(message.from_user.id if message.from_user else None),
    )
    assessment = svc.safety.assess(words)
    if assessment.layer is Layer.NONE:
        return
    try:
        answered = await svc.safety.respond(
            user_id=update.effective_user.id,
            chat_id=message.chat_id,
            text=words,
            assessment=assessment,
            update_id=update.update_id,
        )
    except Exception:
        log.exception("crisis.respond_failed")
        answered = assessment.interrupts
    if answered:
        # This message is not handled as an ordinary answer or note.
        raise ApplicationHandlerStop


async def question_answered(update: Update, context: Context) -> None:
    """Take a Yes or No under the direct safety question."""
    user_id, query = from_button(update)
    choice = keyboards.parse_question(query.data or "")
    if choice is None:
        await query.answer(texts.BUTTON_INVALID)
        return
    svc = context.services
    answered = await svc.questions.answer(
        user_id=user_id, question_id=choice.question_id, yes=choice.yes
    )
    if answered.outcome is AnswerOutcome.INVALID:
        await query.answer(texts.BUTTON_INVALID)
        return
    await query.answer(texts.SAFETY_ALREADY)
    if answered.outcome is AnswerOutcome.ALREADY:
        return
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except TelegramError:
        log.info("safety.question_edit_failed")
    if answered.outcome is AnswerOutcome.NO and query.message is not None:
        await query.get_bot().send_message(
            query.message.chat.id, texts.safety_no_reply(svc.clinic.contacts)
        )


QUESTION_HANDLERS: list[Handler] = [
    CallbackQueryHandler(question_answered, pattern=r"^sq:"),
]

SAFETY_HANDLERS: list[Handler] = [
    MessageHandler(
        filters.ChatType.PRIVATE & filters.UpdateType.MESSAGES & (filters.TEXT | filters.CAPTION),
        safety_gate,
    ),
]

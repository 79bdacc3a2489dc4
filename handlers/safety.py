"""The safety gate: every private message's words are checked for crisis language first."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, MessageHandler, filters

from bot.services.enrolment import GENERATED_TOKEN
from bot.telegram.commands import STAFF_COMMAND_NAMES
from handlers.context import Context, Handler

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
    signal = svc.safety.check(words)
    if signal is None:
        return
    try:
        await svc.safety.escalate(
            user_id=update.effective_user.id,
            chat_id=message.chat_id,
            text=words,
            signal=signal,
            update_id=update.update_id,
        )
    except Exception:
        log.exception("crisis.escalate_failed")
    # Whatever happened, this message is not handled as an ordinary answer or note.
    raise ApplicationHandlerStop


SAFETY_HANDLERS: list[Handler] = [
    MessageHandler(
        filters.ChatType.PRIVATE & filters.UpdateType.MESSAGES & (filters.TEXT | filters.CAPTION),
        safety_gate,
    ),
]

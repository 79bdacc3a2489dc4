"""Reading a staff command's arguments, with a short reply when they are wrong."""

from __future__ import annotations

from telegram import Update

from bot.domain.entities import Patient
from bot.domain.errors import InputError
from bot.telegram import staff_texts
from handlers.context import Context, from_message


async def patient_argument(update: Update, context: Context, command: str) -> Patient | None:
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

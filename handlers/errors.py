"""The error handler: log without message content, and tell the person briefly."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.telegram import texts
from handlers.context import Context

log = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    """Log an unhandled error by type only, answer a pressed button, apologise in private."""
    error = context.error
    log.error(
        "handler.error type=%s",
        type(error).__name__,
        exc_info=(type(error), error, error.__traceback__) if error is not None else None,
    )
    if not isinstance(update, Update):
        return
    if update.callback_query is not None:
        # Otherwise the button keeps spinning in the presser's app.
        try:
            await update.callback_query.answer(texts.BUTTON_FAILED)
        except TelegramError:
            log.warning("handler.error_answer_failed")
    chat = update.effective_chat
    if chat is None or chat.type != "private":
        return
    try:
        await context.bot.send_message(chat.id, texts.SOMETHING_WENT_WRONG)
    except TelegramError:
        log.warning("handler.error_reply_failed")

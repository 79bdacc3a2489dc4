"""What every handler module shares: access to the services and the error handler."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.services.container import Services

log = logging.getLogger(__name__)

SERVICES_KEY = "services"
Context = ContextTypes.DEFAULT_TYPE


def services(context: Context) -> Services:
    """Return the running bot's services."""
    found = context.bot_data.get(SERVICES_KEY)
    if not isinstance(found, Services):
        raise RuntimeError("services are not ready (post_init has not run)")
    return found


def update_id(update: Update) -> int:
    """Return the update's id, the key that makes redelivered updates idempotent."""
    return update.update_id


async def on_error(update: object, context: Context) -> None:
    """Log an unhandled error without message content and tell a private chat briefly."""
    error = context.error
    log.error(
        "handler.error type=%s",
        type(error).__name__,
        exc_info=(type(error), error, error.__traceback__) if error is not None else None,
    )
    if isinstance(update, Update) and update.callback_query is not None:
        # Otherwise the button keeps spinning in the presser's app.
        try:
            await update.callback_query.answer("Sorry, something went wrong. Please try again.")
        except TelegramError:
            log.warning("handler.error_answer_failed")
    if isinstance(update, Update) and update.effective_chat is not None:
        if update.effective_chat.type != "private":
            return
        try:
            await context.bot.send_message(
                update.effective_chat.id,
                "Sorry, something went wrong on my side. Please try again.",
            )
        except TelegramError:
            log.warning("handler.error_reply_failed")

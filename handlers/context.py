"""The typed context every handler receives: the running bot's services as an attribute."""

from __future__ import annotations

from typing import Any, TypeAlias

from telegram import CallbackQuery, Message, Update
from telegram.ext import Application, BaseHandler, CallbackContext, ContextTypes, ExtBot, JobQueue

from bot.services.container import Services


class BotData:
    """What the application keeps for every handler: the services, once post_init ran."""

    __slots__ = ("services",)

    def __init__(self) -> None:
        self.services: Services | None = None


class Context(CallbackContext[ExtBot[int], dict[Any, Any], dict[Any, Any], BotData]):
    """python-telegram-bot's context with the services (see examples/contexttypesbot.py)."""

    @property
    def services(self) -> Services:
        """Return the running bot's services."""
        found = self.bot_data.services
        if found is None:
            raise RuntimeError("services are not ready (post_init has not run)")
        return found


CONTEXT_TYPES = ContextTypes(context=Context, bot_data=BotData)

AfterglowApp: TypeAlias = Application[
    ExtBot[int], Context, dict[Any, Any], dict[Any, Any], BotData, JobQueue[Context]
]
Handler: TypeAlias = BaseHandler[Update, Context, None]


def from_message(update: Update) -> tuple[int, Message]:
    """Return the sender's user id and the message of a message update."""
    assert update.effective_user is not None
    assert update.effective_message is not None
    return update.effective_user.id, update.effective_message


def from_button(update: Update) -> tuple[int, CallbackQuery]:
    """Return the presser's user id and the callback query of a button update."""
    assert update.effective_user is not None
    assert update.callback_query is not None
    return update.effective_user.id, update.callback_query

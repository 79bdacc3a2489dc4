"""Sends check-in prompts through the Bot API and classifies what happened."""

from __future__ import annotations

from datetime import timedelta

import httpx
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from . import texts
from .dispatcher import (
    Delivered,
    NotDelivered,
    RateLimited,
    SendOutcome,
    Undeliverable,
    Unknown,
)
from .ui import mood_keyboard

# httpx errors raised before any byte of the request could have reached the server.
_NOT_SENT_CAUSES = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def retry_after_of(err: RetryAfter) -> timedelta:
    """Return RetryAfter's wait as a timedelta whatever PTB's PTB_TIMEDELTA setting."""
    value = err.retry_after
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


def classify(err: TelegramError) -> SendOutcome:
    """Map a Bot API error to a send outcome."""
    if isinstance(err, Forbidden):
        return Undeliverable(
            reason="forbidden (403): the patient blocked the bot", patient_unreachable=True
        )
    if isinstance(err, RetryAfter):
        return RateLimited(retry_after=retry_after_of(err))
    if isinstance(err, BadRequest):
        if "chat not found" in err.message.lower():
            return Undeliverable(
                reason="bad request (400): chat not found", patient_unreachable=True
            )
        return Undeliverable(reason="bad request (400)", patient_unreachable=False)
    if isinstance(err, TimedOut):
        if isinstance(err.__cause__, _NOT_SENT_CAUSES) or "Pool timeout" in err.message:
            return NotDelivered(reason="connect timeout")
        return Unknown(reason="timed out waiting for Telegram's answer")
    if isinstance(err, NetworkError):
        cause = err.__cause__
        if cause is None:
            # Telegram answered with a server error: the request was not processed.
            return NotDelivered(reason=f"server error: {err.message[:60]}")
        if isinstance(cause, _NOT_SENT_CAUSES):
            return NotDelivered(reason=f"network: {type(cause).__name__}")
        return Unknown(reason=f"network: {type(cause).__name__}")
    return Undeliverable(reason=f"telegram error: {type(err).__name__}", patient_unreachable=False)


class TelegramCheckinSender:
    """The dispatcher's sender, backed by a python-telegram-bot Bot."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send_checkin(self, chat_id: int, checkin_id: int) -> SendOutcome:
        """Send the mood prompt with its 0-10 keyboard."""
        try:
            message = await self._bot.send_message(
                chat_id=chat_id, text=texts.CHECKIN_PROMPT, reply_markup=mood_keyboard(checkin_id)
            )
        except TelegramError as err:
            return classify(err)
        return Delivered(message_id=message.message_id)

"""The one mapping from python-telegram-bot's and httpx's errors to a send outcome."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta

import httpx
from telegram import Message
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.domain.codes import DeliveryProblem
from bot.domain.delivery import (
    Delivered,
    Migrated,
    NotDelivered,
    RateLimited,
    SendOutcome,
    Undeliverable,
    Unknown,
)

# httpx errors raised before any byte of the request could have reached the server.
_NOT_SENT_CAUSES = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_DETAIL = 80


def retry_after_of(err: RetryAfter) -> timedelta:
    """Return RetryAfter's wait as a timedelta whatever PTB's PTB_TIMEDELTA setting."""
    value = err.retry_after
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


def outcome_of(err: TelegramError) -> SendOutcome:
    """Map a Bot API or network error to what it says about the message."""
    if isinstance(err, ChatMigrated):
        return Migrated(new_chat_id=int(err.new_chat_id))
    if isinstance(err, Forbidden):
        return Undeliverable(DeliveryProblem.FORBIDDEN, err.message[:_DETAIL], recipient_gone=True)
    if isinstance(err, RetryAfter):
        return RateLimited(retry_after=retry_after_of(err))
    if isinstance(err, BadRequest):
        if "chat not found" in err.message.lower():
            return Undeliverable(DeliveryProblem.CHAT_NOT_FOUND, recipient_gone=True)
        return Undeliverable(DeliveryProblem.BAD_REQUEST, err.message[:_DETAIL])
    if isinstance(err, TimedOut):
        if isinstance(err.__cause__, _NOT_SENT_CAUSES) or "Pool timeout" in err.message:
            return NotDelivered(DeliveryProblem.CONNECT_FAILED, "connect timeout")
        return Unknown(DeliveryProblem.READ_TIMEOUT, "timed out waiting for Telegram's answer")
    if isinstance(err, NetworkError):
        cause = err.__cause__
        if cause is None:
            # Telegram answered with a server error: the request was not processed.
            return NotDelivered(DeliveryProblem.SERVER_ERROR, err.message[:_DETAIL])
        if isinstance(cause, _NOT_SENT_CAUSES):
            return NotDelivered(DeliveryProblem.CONNECT_FAILED, type(cause).__name__)
        return Unknown(DeliveryProblem.CONNECTION_LOST, type(cause).__name__)
    return Undeliverable(DeliveryProblem.TELEGRAM_ERROR, type(err).__name__)


async def attempt(send: Awaitable[Message]) -> SendOutcome:
    """Await one send and report its outcome instead of raising."""
    try:
        message = await send
    except TelegramError as err:
        return outcome_of(err)
    return Delivered(message_id=message.message_id)

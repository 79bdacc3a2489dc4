"""Sends check-in prompts through the Bot API and classifies what happened."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from telegram import Bot, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.domain.entities import Alert
from bot.services.alerts import AlertDelivered, AlertMigrated, AlertOutcome, AlertRetry
from bot.services.dispatcher import (
    Delivered,
    NotDelivered,
    RateLimited,
    SendOutcome,
    Undeliverable,
    Unknown,
)
from bot.telegram import texts
from bot.telegram.keyboards import alert_keyboard, contact_keyboard, mood_keyboard, more_topics

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


CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096
STAFF_CHAT_PROBLEM_WAIT = timedelta(minutes=5)


def alert_text(alert: Alert, *, reminder: bool) -> str:
    """Return the text of an alert or of its reminder."""
    if not reminder:
        return alert.text
    prefix = (
        "URGENT reminder, not yet acknowledged"
        if alert.urgent
        else "Reminder, not yet acknowledged"
    )
    return f"{prefix}:\n\n{alert.text}"


class TelegramStaffSender:
    """The alert service's sender: a photo with caption when there is a chart, else text.

    Urgent alerts go through a second Bot without the flood limiter, so they never wait
    behind a queue of check-ins.
    """

    def __init__(self, bot: Bot, urgent_bot: Bot | None = None) -> None:
        self._normal = bot
        self._urgent = urgent_bot or bot

    async def send_alert(
        self, chat_id: int, alert: Alert, *, photo: bytes | None, reminder: bool
    ) -> AlertOutcome:
        """Send an alert with its buttons; report the outcome without raising."""
        text = alert_text(alert, reminder=reminder)
        markup = alert_keyboard(alert.id)
        bot = self._urgent if alert.urgent else self._normal
        try:
            if photo is not None and len(text) <= CAPTION_LIMIT:
                try:
                    message = await bot.send_photo(
                        chat_id=chat_id, photo=photo, caption=text, reply_markup=markup
                    )
                    return AlertDelivered(message_id=message.message_id, photo=True)
                except BadRequest as err:
                    if "migrate" in err.message.lower():
                        raise
                    # The picture was refused: the words must still get through.
            message = await bot.send_message(
                chat_id=chat_id, text=text[:TEXT_LIMIT], reply_markup=markup
            )
            return AlertDelivered(message_id=message.message_id, photo=False)
        except ChatMigrated as err:
            return AlertMigrated(new_chat_id=int(err.new_chat_id))
        except RetryAfter as err:
            return AlertRetry(reason="rate limited (429)", wait=retry_after_of(err))
        except Forbidden:
            # The bot was removed from the staff chat: keep trying, loudly, until fixed.
            return AlertRetry(
                reason="forbidden (403): is the bot still in the staff chat?",
                wait=STAFF_CHAT_PROBLEM_WAIT,
            )
        except TelegramError as err:
            return AlertRetry(reason=f"{type(err).__name__}: {err.message[:80]}")


class TelegramPatientSender:
    """Pushed explainers and episode messages to patients (through the flood limiter)."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send_explainer(self, chat_id: int, text: str, *, explainer_id: str) -> bool:
        """Send an explainer with a button to the /learn menu."""
        del explainer_id
        return await self._send(chat_id, text, more_topics())

    async def send_contextual(self, chat_id: int, text: str, *, episode_id: int) -> bool:
        """Send the episode message with the 'contact me' button."""
        return await self._send(chat_id, text, contact_keyboard(episode_id))

    async def _send(self, chat_id: int, text: str, markup: InlineKeyboardMarkup) -> bool:
        try:
            await self._bot.send_message(
                chat_id=chat_id, text=text[:TEXT_LIMIT], reply_markup=markup
            )
        except TelegramError:
            return False
        return True


class TelegramUrgentMessenger:
    """Crisis replies to patients, through a Bot that bypasses the flood limiter."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send_now(self, chat_id: int, text: str) -> bool:
        """Send at once; a 429 is waited out once, other errors reported as False."""
        for _ in range(2):
            try:
                await self._bot.send_message(chat_id=chat_id, text=text[:TEXT_LIMIT])
            except RetryAfter as err:
                await asyncio.sleep(min(retry_after_of(err).total_seconds(), 10.0))
                continue
            except TelegramError:
                return False
            return True
        return False

"""Start-up: reach Telegram (retrying while it cannot be reached), then the staff chat.

Before the Application runs, `reach_telegram` asks for the bot itself (getMe) until Telegram
answers: a network that is not up yet or a Telegram outage is waited out with back-off, one
log line per attempt, and a token Telegram rejects stops start-up with one line. Once the
database is open, `open_staff_chat` checks that the staff chat can be reached (getChat) and
posts one line there; a chat the bot cannot reach or post in stops start-up with one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from bot.domain.backoff import backoff
from bot.domain.errors import AfterglowError
from bot.runtime.settings import DEFAULT_API_BASE_URL
from bot.services.container import Services
from bot.telegram import setup_texts

log = logging.getLogger(__name__)

RETRY_FIRST = timedelta(seconds=1)
RETRY_CEILING = timedelta(minutes=1)
# A group upgraded to a supergroup is followed; more hops than this is not a real chat.
_MAX_MOVES = 3
_T = TypeVar("_T")


class StartupError(AfterglowError):
    """Start-up cannot go on; the message is the one line the admin is shown."""


class TokenRejectedError(StartupError):
    """Telegram does not know the token."""


def token_rejected(base_url: str) -> TokenRejectedError:
    """Return the error for a token Telegram rejects (401 or 404), never quoting it."""
    hint = "copy it again from @BotFather (/mybots, API Token)"
    if base_url != DEFAULT_API_BASE_URL:
        hint += f", and check TELEGRAM_API_BASE_URL ({base_url})"
    return TokenRejectedError(f"Telegram rejected TELEGRAM_BOT_TOKEN: {hint}")


async def retrying(
    what: str,
    attempt: Callable[[], Awaitable[_T]],
    *,
    stop: asyncio.Event | None = None,
    first: timedelta = RETRY_FIRST,
    ceiling: timedelta = RETRY_CEILING,
) -> _T | None:
    """Return attempt()'s result, retrying network failures; None if `stop` is set first.

    Telegram's refusals (BadRequest, Forbidden, InvalidToken, ChatMigrated) are raised at
    once: waiting does not change them. Each failed attempt is one log line, by error type
    only (a network error's message can carry the request URL, and the URL the token).
    """
    failures = 0
    while True:
        try:
            return await attempt()
        except RetryAfter as err:
            failures += 1
            retry_after = err.retry_after
            wait = (
                retry_after
                if isinstance(retry_after, timedelta)
                else timedelta(seconds=retry_after)
            )
            error = "RetryAfter"
        except BadRequest:
            raise
        except NetworkError as err:
            failures += 1
            wait = backoff(failures, first=first, ceiling=ceiling)
            error = type(err).__name__
        log.warning(
            "startup.unreachable what=%s attempt=%d error=%s retry_in=%.0fs",
            what,
            failures,
            error,
            wait.total_seconds(),
        )
        if stop is None:
            await asyncio.sleep(wait.total_seconds())
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait.total_seconds())
            return None


async def reach_telegram(
    token: str,
    base_url: str,
    *,
    stop: asyncio.Event,
    first: timedelta = RETRY_FIRST,
) -> str | None:
    """Ask Telegram for the bot until it answers; return its username (None if stopped)."""
    requests = [HTTPXRequest(connect_timeout=5.0, read_timeout=10.0) for _ in range(2)]
    bot = Bot(token, base_url=base_url, request=requests[0], get_updates_request=requests[1])
    try:
        me = await retrying("telegram", bot.get_me, stop=stop, first=first)
    except InvalidToken:
        raise token_rejected(base_url) from None
    except TelegramError as err:
        raise StartupError(
            f"Telegram at {base_url} answered getMe with {type(err).__name__}"
        ) from None
    finally:
        for request in requests:
            await request.shutdown()
    if me is None:
        return None
    log.info("startup.telegram_ok bot=%s", me.username)
    return me.username


def _unreachable(chat_id: int, err: TelegramError) -> StartupError:
    return StartupError(
        f"cannot reach the staff chat {chat_id} (AFTERGLOW_STAFF_CHAT_ID): Telegram says"
        f" {err.message!r}. Add the bot to the staff group, or find the group's id with"
        " `afterglow setup`"
    )


async def staff_chat(bot: Bot, svc: Services) -> int:
    """Return the staff chat once getChat finds it, following a supergroup upgrade."""
    chat_id = await svc.alerts.staff_chat_id()
    for _ in range(_MAX_MOVES):
        try:
            await retrying("staff_chat", functools.partial(bot.get_chat, chat_id))
        except ChatMigrated as moved:
            await svc.alerts.group_migrated(chat_id, moved.new_chat_id)
            chat_id = moved.new_chat_id
            continue
        except (BadRequest, Forbidden) as err:
            raise _unreachable(chat_id, err) from None
        return chat_id
    raise StartupError(
        f"the staff chat keeps moving (now {chat_id}); check AFTERGLOW_STAFF_CHAT_ID"
    )


async def open_staff_chat(bot: Bot, svc: Services, *, version: str) -> None:
    """Check the staff chat can be reached and post the start-up line there."""
    chat_id = await staff_chat(bot, svc)
    patients = len(await svc.care.overview())
    open_alerts = len(await svc.alerts.open_alerts())
    text = setup_texts.running(version, patients, open_alerts)
    try:
        await retrying("staff_chat", functools.partial(bot.send_message, chat_id, text))
    except (BadRequest, Forbidden) as err:
        raise StartupError(
            f"cannot post in the staff chat {chat_id} (AFTERGLOW_STAFF_CHAT_ID): Telegram says"
            f" {err.message!r}. Let the bot send messages in the staff group"
        ) from None
    log.info("startup.staff_chat_ok patients=%d open_alerts=%d", patients, open_alerts)


def wait_for_telegram(token: str, base_url: str) -> str | None:
    """Run `reach_telegram` in its own event loop until it answers or SIGTERM/SIGINT.

    Returns the bot's username, or None when a signal stopped the waiting.
    """

    async def wait() -> str | None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            return await reach_telegram(token, base_url, stop=stop)
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)

    return asyncio.run(wait())

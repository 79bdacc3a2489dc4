"""`afterglow setup`: the bot with only a token, telling the admin the ids the settings need.

No database and no patients: it answers /whoami in private, says a group's id when it is
added to one (or asked with /chatid), and tells an admin who writes to it what to do next.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, TypeAlias

from telegram import Bot, Update
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError
from telegram.ext import Application, ApplicationBuilder, ExtBot
from telegram.request import BaseRequest, HTTPXRequest

from bot.runtime.settings import SetupSettings
from bot.runtime.startup import retrying, wait_for_telegram
from bot.telegram import setup_texts
from bot.telegram.setup_texts import SetupState
from handlers import CONTEXT_TYPES, BotData, Context, on_error, setup_mode_handlers

log = logging.getLogger(__name__)

SetupApp: TypeAlias = Application[
    ExtBot[None], Context, dict[Any, Any], dict[Any, Any], BotData, None
]


def build_setup_application(
    settings: SetupSettings,
    state: SetupState,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
) -> SetupApp:
    """Return the setup-mode application (no database, no jobs)."""
    app: SetupApp = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_base_url)
        .request(request or HTTPXRequest(connect_timeout=5.0, read_timeout=10.0))
        .get_updates_request(
            updates_request or HTTPXRequest(connect_timeout=5.0, read_timeout=40.0)
        )
        .context_types(CONTEXT_TYPES)
        .job_queue(None)
        .build()
    )
    app.add_handlers(setup_mode_handlers(settings.admin_ids, state))
    app.add_error_handler(on_error)
    return app


async def staff_chat_reachable(settings: SetupSettings, chat_id: int) -> bool:
    """Tell whether getChat finds the configured staff chat (network failures retried)."""
    request = HTTPXRequest(connect_timeout=5.0, read_timeout=10.0)
    bot = Bot(settings.token, base_url=settings.api_base_url, request=request)
    try:
        await retrying("staff_chat", functools.partial(bot.get_chat, chat_id))
    except (BadRequest, Forbidden, ChatMigrated):
        return False
    finally:
        await request.shutdown()
    return True


def run_setup(settings: SetupSettings) -> int:
    """Run setup mode until SIGTERM or SIGINT; return the exit code."""
    username = wait_for_telegram(settings.token, settings.api_base_url)
    if username is None:
        return 0
    chat_id = settings.staff_chat_id
    reachable = chat_id is not None and asyncio.run(staff_chat_reachable(settings, chat_id))
    state = SetupState(
        bot_username=username,
        admins_configured=bool(settings.admin_ids),
        staff_chat_id=chat_id,
        staff_chat_reachable=reachable,
    )
    app = build_setup_application(settings, state)
    print(setup_texts.console_intro(state), flush=True)
    log.info("setup.started bot=%s staff_chat_reachable=%s", username, reachable)
    try:
        app.run_polling(allowed_updates=[Update.MESSAGE])
    except TelegramError as err:
        log.error("setup.failed error=%s", type(err).__name__)
        return 1
    return 0

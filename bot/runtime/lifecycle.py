"""Running a built application inside an existing event loop (tests, demo, benchmarks)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta

from telegram import Update
from telegram.ext import Updater

from bot.runtime.polling import AfterglowBot
from bot.runtime.settings import WebhookSettings
from bot.runtime.webhook import WebhookReceiver
from handlers import AfterglowApp

# Edited messages are only read for crisis language; everything else ignores edits.
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]


@asynccontextmanager
async def _lifecycle(
    app: AfterglowApp, start_updates: Callable[[Updater], Awaitable[object]]
) -> AsyncIterator[AfterglowApp]:
    """The same sequence as Application.run_polling()/run_webhook(), inside a running loop."""
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        assert app.updater is not None
        await start_updates(app.updater)
        await app.start()
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


@asynccontextmanager
async def running_webhook(
    app: AfterglowApp, webhook: WebhookSettings
) -> AsyncIterator[AfterglowApp]:
    """Run the application behind Afterglow's own webhook server (see bot/runtime/webhook.py)."""
    if not isinstance(app.bot, AfterglowBot):
        raise TypeError("the application was not built by build_application")
    receiver = WebhookReceiver(app, app.bot.intake, webhook, allowed=ALLOWED_UPDATES)
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        await receiver.start()
        await app.start()
        try:
            yield app
        finally:
            await receiver.stop()
            if app.running:
                await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


def serve_webhook(app: AfterglowApp, webhook: WebhookSettings) -> None:
    """Run in webhook mode until SIGTERM or SIGINT, then stop as the polling mode does."""

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with running_webhook(app, webhook):
            await stop.wait()

    asyncio.run(serve())


def running(
    app: AfterglowApp, *, poll_timeout: float = 10.0
) -> AbstractAsyncContextManager[AfterglowApp]:
    """Run the application with long polling inside an existing event loop."""
    return _lifecycle(
        app,
        lambda updater: updater.start_polling(
            poll_interval=0.0,
            timeout=timedelta(seconds=poll_timeout),
            allowed_updates=ALLOWED_UPDATES,
        ),
    )

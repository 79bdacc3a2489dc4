"""Running a built application inside an existing event loop (tests, demo, benchmarks)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta

from telegram import Update
from telegram.ext import Updater

from bot.runtime.settings import WebhookSettings
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


def running_webhook(
    app: AfterglowApp, webhook: WebhookSettings
) -> AbstractAsyncContextManager[AfterglowApp]:
    """Run the application behind python-telegram-bot's webhook server (secret enforced)."""
    return _lifecycle(
        app,
        lambda updater: updater.start_webhook(
            listen=webhook.listen,
            port=webhook.port,
            url_path=webhook.path,
            webhook_url=webhook.url,
            secret_token=webhook.secret,
            allowed_updates=ALLOWED_UPDATES,
        ),
    )


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

"""Receiving updates by webhook: the secret checked first, the body capped, stored before 200.

Telegram sends the secret in a header; a request without it is refused before its body is
read, and a body larger than any update is refused without being read whole. An update is
committed to the inbox before Telegram gets its 200, so an update Telegram was told we have
is never lost; when the database cannot take it, Telegram gets a 500 and tries again.
"""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web

from bot.runtime.intake import MAX_PAYLOAD, Intake
from bot.runtime.settings import WebhookSettings
from handlers import AfterglowApp

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# An update is at most a few kilobytes; anything this big is refused unread.
MAX_BODY = 2 * MAX_PAYLOAD


class WebhookReceiver:
    """A small aiohttp server in front of the intake, on the configured address."""

    def __init__(
        self, app: AfterglowApp, intake: Intake, webhook: WebhookSettings, *, allowed: list[str]
    ) -> None:
        self._app = app
        self._intake = intake
        self._webhook = webhook
        self._allowed = allowed
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen, then tell Telegram where to deliver."""
        server = web.Application(client_max_size=MAX_BODY)
        server.router.add_post(f"/{self._webhook.path}", self._receive)
        runner = web.AppRunner(server, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self._webhook.listen, self._webhook.port).start()
        self._runner = runner
        await self._app.bot.set_webhook(
            url=self._webhook.url,
            secret_token=self._webhook.secret,
            allowed_updates=self._allowed,
        )
        log.info("webhook.listening port=%d", self._webhook.port)

    async def stop(self) -> None:
        """Stop listening (Telegram keeps the webhook and retries until we are back)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        presented = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(presented.encode(), self._webhook.secret.encode()):
            log.warning("webhook.refused reason=secret")
            return web.Response(status=403)
        if request.content_length is not None and request.content_length > MAX_BODY:
            log.warning("webhook.refused reason=too_big")
            return web.Response(status=413)
        try:
            raw = json.loads(await request.read())
        except web.HTTPRequestEntityTooLarge:
            log.warning("webhook.refused reason=too_big")
            return web.Response(status=413)
        except (ValueError, UnicodeDecodeError):
            log.warning("webhook.refused reason=not_json")
            return web.Response(status=400)
        try:
            updates = await self._intake.receive([raw], self._app.bot)
        except Exception:
            log.exception("webhook.store_failed")
            return web.Response(status=500)
        for update in updates:
            await self._app.update_queue.put(update)
        return web.Response()

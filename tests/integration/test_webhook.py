"""Webhook mode: the secret token is enforced and only used update types are requested."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from bot.runtime.application import build_application, services_of
from bot.runtime.instance import AlreadyRunningError
from bot.runtime.lifecycle import running_webhook
from bot.runtime.settings import WebhookSettings
from tests.integration.conftest import Harness

SECRET = "s3cret-token_for-webhook-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_requires_the_secret(harness: Harness) -> None:
    h = harness
    await h.stop()
    port = free_port()
    webhook = WebhookSettings(
        url="https://bot.example.test/telegram",
        secret=SECRET,
        listen="127.0.0.1",
        port=port,
        path="telegram",
    )
    app = build_application(h.settings, clock=h.clock, dispatch_interval=3600)
    async with running_webhook(app, webhook), httpx.AsyncClient() as client:
        [registered] = h.server.calls_to("setWebhook")
        assert registered["url"] == "https://bot.example.test/telegram"
        assert registered["secret_token"] == SECRET
        assert set(registered["allowed_updates"]) == {
            "message",
            "edited_message",
            "callback_query",
        }

        url = f"http://127.0.0.1:{port}/telegram"
        invite = h.server.send_message(h.staff, "/invite")
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong-secret-value"}):
            refused = await client.post(url, json=invite, headers=headers)
            assert refused.status_code == 403
        await asyncio.sleep(0.3)
        assert await services_of(app).care.overview() == []

        waiting = h.expect(h.staff.id)
        accepted = await client.post(
            url, json=invite, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        assert accepted.status_code == 200
        reply = await waiting
        assert "New patient" in (reply.text or "")
        assert len(await services_of(app).care.overview()) == 1

        # A second bot on the same database refuses to start.
        second = build_application(h.settings, clock=h.clock, dispatch_interval=3600)
        with pytest.raises(AlreadyRunningError):
            async with running_webhook(second, webhook):
                pass

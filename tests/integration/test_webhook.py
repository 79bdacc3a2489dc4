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
from bot.runtime.webhook import MAX_BODY
from tests.integration.conftest import Harness

pytestmark = pytest.mark.both_backends

SECRET = "s3cret-token_for-webhook-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# On PostgreSQL a second bot waits as a standby instead (in polling mode) or serves beside
# the first (webhook mode): tests/integration/test_failover.py and test_active_active.py.
@pytest.mark.parametrize("backend", ["sqlite"])
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


async def running_behind_a_webhook(h: Harness) -> tuple[WebhookSettings, str]:
    await h.stop()
    port = free_port()
    webhook = WebhookSettings(
        url="https://bot.example.test/telegram", secret=SECRET, port=port, path="telegram"
    )
    return webhook, f"http://127.0.0.1:{port}/telegram"


async def test_the_webhook_listens_on_localhost_by_default(harness: Harness) -> None:
    webhook, _ = await running_behind_a_webhook(harness)
    assert webhook.listen == "127.0.0.1"


async def test_a_huge_body_is_refused_before_it_is_read(harness: Harness) -> None:
    h = harness
    webhook, url = await running_behind_a_webhook(h)
    app = build_application(h.settings, clock=h.clock, dispatch_interval=3600)
    huge = b'{"update_id": 1, "message": {"text": "' + b"x" * (4 * MAX_BODY) + b'"}}'
    async with running_webhook(app, webhook), httpx.AsyncClient() as client:
        without_secret = await client.post(url, content=huge)
        with_secret = await client.post(
            url, content=huge, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        not_json = await client.post(
            url, content=b"{not json", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        assert (without_secret.status_code, with_secret.status_code) == (403, 413)
        assert not_json.status_code == 400
        assert await services_of(app).storage.inbox.pending() == []


async def test_an_update_is_in_the_inbox_before_telegram_gets_its_200(harness: Harness) -> None:
    h = harness
    webhook, url = await running_behind_a_webhook(h)
    app = build_application(h.settings, clock=h.clock, dispatch_interval=3600)
    async with running_webhook(app, webhook), httpx.AsyncClient() as client:
        stranger = h.server.add_user(first_name="Una")
        update = h.server.send_message(stranger, "hello")
        waiting = h.expect(stranger.id)
        accepted = await client.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
        assert accepted.status_code == 200
        assert await services_of(app).storage.inbox.state(update["update_id"]) is not None
        await waiting

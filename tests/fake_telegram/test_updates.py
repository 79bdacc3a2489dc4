"""Getting updates: offsets, long polling, allowed updates, redelivery and the webhook."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time

import pytest
from telegram import Bot
from telegram.error import BadRequest, Conflict

from bot.fake_telegram import FakeTelegramServer, FakeUser
from tests.fake_telegram.helpers import KEYBOARD, TOKEN, api, make_bot


async def test_get_updates_offset_limit_and_ids(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    ids = [server.send_message(alice, f"m{i}")["update_id"] for i in range(5)]
    assert ids == list(range(ids[0], ids[0] + 5))
    first = await bot.get_updates(limit=2, timeout=0)
    assert [u.update_id for u in first] == ids[:2]
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == ids
    rest = await bot.get_updates(offset=ids[2], timeout=0)
    assert [u.update_id for u in rest] == ids[2:]
    assert [u["update_id"] for u in server.pending_updates] == ids[2:]
    assert await bot.get_updates(offset=ids[-1] + 1, timeout=0) == ()
    assert server.pending_updates == []


async def test_long_poll_wakes_up_on_new_update(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await server.wait_for(lambda: server.calls_to("getUpdates"))
    server.send_message(alice, "hi")
    updates = await poll
    assert [u.message.text for u in updates if u.message] == ["hi"]
    assert loop.time() - started < 2


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=dtm.timedelta(seconds=0.2)) == ()
    assert 0.15 < time.monotonic() - started < 2


async def test_long_poll_returns_promptly_when_server_stops() -> None:
    server = FakeTelegramServer(token=TOKEN)
    await server.start()
    try:
        async with make_bot(server, read_timeout=5) as ptb_bot:
            poll = asyncio.create_task(ptb_bot.get_updates(timeout=30))
            await server.wait_for(lambda: server.calls_to("getUpdates"))
            started = time.monotonic()
            await server.stop()
            assert await poll == ()
            assert time.monotonic() - started < 2
    finally:
        await server.stop()


async def test_allowed_updates_are_respected(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    sent = await bot.send_message(alice.id, "Mood?", reply_markup=KEYBOARD)
    server.send_message(alice, "text")
    server.press_button(alice, server.sent[-1], "mood:good")
    server.inject_update({"chat_member": {"placeholder": True}})
    only_queries = await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    assert [u.callback_query.data for u in only_queries if u.callback_query] == ["mood:good"]
    assert len(only_queries) == 1
    everything = await bot.get_updates(timeout=0, allowed_updates=[])
    assert [bool(u.message) for u in everything] == [True, False]
    assert sent.message_id == server.sent[-1].message_id


async def test_reinjected_update_is_redelivered_once(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    update = server.send_message(alice, "note")
    [first] = await bot.get_updates(timeout=0)
    assert await bot.get_updates(offset=first.update_id + 1, timeout=0) == ()
    server.inject_update(update)
    later = server.send_message(alice, "later")
    again = await bot.get_updates(offset=first.update_id + 1, timeout=0)
    assert [u.update_id for u in again] == [first.update_id, later["update_id"]]
    assert await bot.get_updates(offset=later["update_id"] + 1, timeout=0) == ()

    skipped = server.send_message(alice, "never fetched")
    assert await bot.get_updates(offset=skipped["update_id"] + 1, timeout=0) == ()


async def test_webhook_lifecycle(server: FakeTelegramServer, bot: Bot) -> None:
    assert await bot.set_webhook("https://example.org/hook", secret_token="s3cr3t") is True
    assert (server.webhook_url, server.webhook_secret_token) == (
        "https://example.org/hook",
        "s3cr3t",
    )
    info = await bot.get_webhook_info()
    assert info.url == "https://example.org/hook"
    assert info.pending_update_count == 0
    with pytest.raises(Conflict):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook(drop_pending_updates=True) is True
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates(timeout=0) == ()


async def test_a_newer_poll_ends_the_waiting_one_with_a_conflict(
    server: FakeTelegramServer,
) -> None:
    first = asyncio.create_task(api(server, "getUpdates", timeout=5))
    await server.wait_for(lambda: server.calls_to("getUpdates"))
    assert await api(server, "getUpdates", timeout=0) == {"ok": True, "result": []}
    assert (await first)["description"] == (
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running"
    )


async def test_negative_offset_keeps_only_the_latest(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    ids = [server.send_message(alice, f"m{i}")["update_id"] for i in range(4)]
    updates = await bot.get_updates(offset=-1, timeout=0)
    assert [u.update_id for u in updates] == ids[-1:]
    assert [u["update_id"] for u in server.pending_updates] == ids[-1:]


async def test_webhook_settings_and_refusals(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    server.send_message(alice, "waiting")
    assert await bot.set_webhook(
        "https://example.org/hook",
        max_connections=5,
        allowed_updates=["message"],
        drop_pending_updates=True,
    )
    info = await bot.get_webhook_info()
    assert (info.url, info.max_connections, info.allowed_updates) == (
        "https://example.org/hook",
        5,
        ("message",),
    )
    assert info.pending_update_count == 0
    assert server.webhook_secret_token is None
    with pytest.raises(BadRequest, match=r"(?i)an https url must be provided"):
        await bot.set_webhook("ftp://example.org/hook")
    with pytest.raises(BadRequest, match=r"(?i)secret token contains unallowed characters"):
        await bot.set_webhook("https://example.org/hook", secret_token="not secret!")
    assert await bot.set_webhook("") is True
    assert server.webhook_url == ""
    assert (await bot.get_webhook_info()).max_connections is None

"""Start-up against the fake Bot API over HTTP: the staff chat line, an unreachable staff chat,
a rejected token, and Telegram unreachable for a while."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.clock import ManualClock
from bot.fake_telegram import FakeChat, FakeTelegramServer, Fault
from bot.runtime.application import build_application, services_of
from bot.runtime.lifecycle import running
from bot.runtime.settings import Settings
from bot.runtime.startup import StartupError, TokenRejectedError, reach_telegram
from bot.runtime.version import afterglow_version
from tests.conftest import START

TOKEN = "123456:TEST-fake-token-for-start-up"
QUICK = timedelta(milliseconds=10)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(token=TOKEN, bot_username="afterglow_test_bot") as fake:
        yield fake


def settings_for(server: FakeTelegramServer, db: Path, staff_chat: int) -> Settings:
    return Settings(
        token=TOKEN,
        staff_chat_id=staff_chat,
        admin_ids=frozenset({42}),
        api_base_url=server.base_url,
        db_path=db,
        timezone=ZoneInfo("Europe/Berlin"),
    )


def build(server: FakeTelegramServer, db: Path, staff_chat: int):
    return build_application(
        settings_for(server, db, staff_chat),
        clock=ManualClock(START),
        dispatch_interval=3600.0,
        request_timeout=5.0,
        announce=True,
    )


def running_lines(server: FakeTelegramServer, chat: FakeChat) -> list[str]:
    return [m.text or "" for m in server.messages(chat) if "is running" in (m.text or "")]


async def test_start_up_posts_one_line_in_the_staff_chat(
    server: FakeTelegramServer, tmp_path: Path
) -> None:
    group = server.add_group("Clinic staff")
    db = tmp_path / "afterglow.db"
    app = build(server, db, group.id)
    async with running(app, poll_timeout=1):
        assert server.calls_to("getChat")[0]["chat_id"] == group.id
        await services_of(app).enrolment.invite(staff_id=42, label=None, update_id=None)
    async with running(build(server, db, group.id), poll_timeout=1):
        pass

    version = afterglow_version()
    assert running_lines(server, group) == [
        f"Afterglow {version} is running: 0 patients, 0 open alerts.",
        f"Afterglow {version} is running: 1 patient, 0 open alerts.",
    ]


async def test_an_unreachable_staff_chat_stops_start_up_with_one_clear_error(
    server: FakeTelegramServer, tmp_path: Path
) -> None:
    db = tmp_path / "afterglow.db"
    app = build(server, db, -1009999999)

    with pytest.raises(StartupError) as info:
        async with running(app, poll_timeout=1):
            pytest.fail("the bot started without its staff chat")

    message = str(info.value)
    assert message.startswith("cannot reach the staff chat -1009999999 (AFTERGLOW_STAFF_CHAT_ID)")
    assert "chat not found" in message.lower()
    assert "\n" not in message
    assert TOKEN not in message
    assert server.calls_to("getUpdates") == []
    # The database and the instance lock were given back: a corrected start works.
    group = server.add_group("Clinic staff")
    async with running(build(server, db, group.id), poll_timeout=1):
        pass
    assert len(running_lines(server, group)) == 1


async def test_a_staff_group_upgraded_while_the_bot_was_down_is_followed(
    server: FakeTelegramServer, tmp_path: Path
) -> None:
    group = server.add_group("Clinic staff")
    supergroup = server.migrate_group(group)
    app = build(server, tmp_path / "afterglow.db", group.id)

    async with running(app, poll_timeout=1):
        assert await services_of(app).alerts.staff_chat_id() == supergroup.id

    assert len(running_lines(server, supergroup)) == 1


async def test_a_network_failure_on_the_staff_chat_is_retried(
    server: FakeTelegramServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    group = server.add_group("Clinic staff")
    server.inject_fault(Fault(method="getChat", status=502, times=1))

    with caplog.at_level(logging.INFO):
        async with running(build(server, tmp_path / "afterglow.db", group.id), poll_timeout=1):
            pass

    retries = [r.getMessage() for r in caplog.records if "startup.unreachable" in r.getMessage()]
    assert retries == [
        "startup.unreachable what=staff_chat attempt=1 error=NetworkError retry_in=1s"
    ]
    assert len(running_lines(server, group)) == 1


async def test_a_rejected_token_is_told_without_the_token(server: FakeTelegramServer) -> None:
    wrong = "654321:not-the-token-the-server-knows"

    with pytest.raises(TokenRejectedError) as info:
        await reach_telegram(wrong, server.base_url, stop=asyncio.Event(), first=QUICK)

    assert "TELEGRAM_BOT_TOKEN" in str(info.value)
    assert "not-the-token" not in str(info.value)
    assert server.base_url in str(info.value)


async def test_telegram_unreachable_is_retried_with_one_line_per_attempt(
    server: FakeTelegramServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.inject_fault(Fault(method="getMe", status=502, times=2))

    with caplog.at_level(logging.INFO):
        username = await reach_telegram(TOKEN, server.base_url, stop=asyncio.Event(), first=QUICK)

    assert username == "afterglow_test_bot"
    attempts = [r.getMessage() for r in caplog.records if "startup.unreachable" in r.getMessage()]
    assert [line.split(" ")[2] for line in attempts] == ["attempt=1", "attempt=2"]
    assert all(TOKEN not in line for line in attempts)


async def test_waiting_for_telegram_ends_when_told_to_stop() -> None:
    stop = asyncio.Event()
    stop.set()

    # Nothing listens on port 9 of 127.0.0.1: the attempt is refused, and then it stops.
    assert await reach_telegram(TOKEN, "http://127.0.0.1:9/bot", stop=stop, first=QUICK) is None

"""The real Application over real HTTP against the project's fake Bot API server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from telegram.ext import Application

from bot.domain.clock import ManualClock
from bot.fake_telegram import FakeChat, FakeTelegramServer, FakeUser, SentMessage
from bot.runtime.application import build_application, services_of
from bot.runtime.jobs import dispatch_once
from bot.runtime.lifecycle import running
from bot.runtime.settings import Settings
from bot.services.container import Services
from tests.conftest import START
from tests.postgres import fresh_database

TOKEN = "123456:TEST-fake-token-for-integration"
BOT_USERNAME = "afterglow_test_bot"
LINK = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=([A-Za-z0-9_-]+)")
CODE = re.compile(r"\b(P-[A-Z0-9]{4,8})\b")


@dataclass
class Harness:
    """One fake Telegram, one database, and a bot that can be started and restarted."""

    server: FakeTelegramServer
    clock: ManualClock
    db_path: Path
    staff: FakeUser
    staff_group: FakeChat
    request_timeout: float = 5.0
    dispatch_interval: float = 3600.0
    _stack: AsyncExitStack | None = None
    app: Application[Any, Any, Any, Any, Any, Any] | None = None
    extra_env: dict[str, Any] = field(default_factory=dict)
    # A postgresql:// URL: the bot keeps its data there instead of in db_path.
    database_url: str | None = None

    @property
    def settings(self) -> Settings:
        return Settings(
            token=TOKEN,
            staff_chat_id=self.staff_group.id,
            admin_ids=frozenset({self.staff.id}),
            api_base_url=self.server.base_url,
            db_path=self.db_path,
            timezone=ZoneInfo("Europe/Berlin"),
            database_url=self.database_url,
        )

    @property
    def svc(self) -> Services:
        assert self.app is not None
        return services_of(self.app)

    async def start(self) -> None:
        assert self._stack is None, "already running"
        app = build_application(
            self.settings,
            clock=self.clock,
            dispatch_interval=self.dispatch_interval,
            request_timeout=self.request_timeout,
        )
        stack = AsyncExitStack()
        await stack.enter_async_context(running(app, poll_timeout=1))
        self._stack = stack
        self.app = app

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
        self._stack = None
        self.app = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def tick(self) -> None:
        """Run one pass of the dispatcher job, as the scheduler would."""
        await dispatch_once(self.svc)

    def expect(
        self, chat_id: int, predicate: Callable[[SentMessage], bool] | None = None
    ) -> Coroutine[Any, Any, SentMessage]:
        """Start watching a chat now; await the result for the first new matching message."""
        start = len(self.server.sent)
        server = self.server

        def find() -> SentMessage | None:
            for message in server.sent[start:]:
                if message.chat_id == chat_id and (predicate is None or predicate(message)):
                    return message
            return None

        return server.wait_for(find)

    async def say(self, user: FakeUser, text: str, chat: FakeChat | None = None) -> SentMessage:
        """Send a message as a user and wait for the bot's reply in that chat."""
        target = chat if chat is not None else self.server.private_chat(user)
        waiting = self.expect(target.id)
        self.server.send_message(user, text, chat=chat)
        return await waiting

    async def press(self, user: FakeUser, message: SentMessage, data: str) -> str:
        """Press a button and return the text of the callback answer."""
        before = len(self.server.calls_to("answerCallbackQuery"))
        self.server.press_button(user, message, data, check=False)
        answers = await self.server.wait_for(
            lambda: self.server.calls_to("answerCallbackQuery")[before:] or None
        )
        return str(answers[0].get("text", ""))

    async def invite(self) -> tuple[str, str]:
        """Invite a patient as staff; return (code, token)."""
        reply = await self.say(self.staff, "/invite")
        assert reply.text is not None
        link = LINK.search(reply.text)
        code = CODE.search(reply.text)
        assert link is not None, reply.text
        assert code is not None, reply.text
        return code.group(1), link.group(1)

    async def enrol(self, user: FakeUser, time: str = "09:00") -> str:
        """Take a new patient through invitation, consent and time choice; return the code."""
        code, token = await self.invite()
        consent = await self.say(user, f"/start {token}")
        assert "I agree" in consent.buttons()[0][0]
        chat = self.server.private_chat(user)
        waiting = self.expect(chat.id, lambda m: bool(m.buttons()))
        await self.press(user, consent, consent.button("I agree"))
        times = await waiting
        confirmed = self.expect(chat.id)
        await self.press(user, times, f"t:{time.replace(':', '')}")
        reply = await confirmed
        assert reply.text is not None
        assert time in reply.text
        return code


@pytest.fixture
async def database_url(backend: str) -> AsyncIterator[str | None]:
    """None for SQLite (the harness's file), or a PostgreSQL database for this test."""
    if backend == "sqlite":
        yield None
        return
    async with fresh_database() as url:
        yield url


@pytest.fixture
async def harness(tmp_path: Path, database_url: str | None) -> AsyncIterator[Harness]:
    """Start a fake Telegram server and the bot against it; stop both afterwards."""
    async with FakeTelegramServer(token=TOKEN, bot_username=BOT_USERNAME) as server:
        staff = server.add_user(first_name="Nurse", username="nurse")
        group = server.add_group(title="Clinic staff")
        h = Harness(
            server=server,
            clock=ManualClock(START),
            db_path=tmp_path / "afterglow.db",
            staff=staff,
            staff_group=group,
            database_url=database_url,
        )
        try:
            await h.start()
            yield h
        finally:
            await h.stop()

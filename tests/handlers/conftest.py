"""The in-process tier: the real Application and handlers, no HTTP, one update at a time.

As in python-telegram-bot's own tests (`Application.process_update` over an offline
request), each update is handed to the application directly and awaited; the Bot's
requests reach `OfflineTelegram` instead of a server. Everything a handler does has
happened when `process` returns: there is nothing to wait for and nothing to sleep.

What this tier leaves out, on purpose: long polling and its `allowed_updates`, the per-chat
update processor (ordering and concurrency), the scheduled job (call `bot.tick()` for one
dispatcher pass), and the overall flood rate (built with `rate_limit_per_second=0`; the
limiter still waits out a 429 and keeps a group to 20 messages a minute, so a test sends
fewer than that to one group). What needs real HTTP, the fake server's faults, flood limits
or restarts stays in `tests/integration/`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telegram import Update
from telegram.request import BaseRequest

from bot.domain.clock import ManualClock
from bot.domain.entities import Checkin, Patient
from bot.runtime.application import Requests, build_application, services_of
from bot.runtime.content import Content, load_content
from bot.runtime.jobs import dispatch_once
from bot.runtime.settings import Settings
from bot.services.container import Services
from bot.telegram import texts
from handlers import AfterglowApp
from tests.conftest import START
from tests.handlers.offline import (
    BOT_USERNAME,
    JSON,
    Call,
    OfflineRequest,
    OfflineTelegram,
    Sent,
)
from tests.handlers.updates import Chat, TgGroup, TgUser, Updates

TOKEN = "123456:TEST-in-process-token"
CLINIC_TZ = ZoneInfo("Europe/Berlin")
LINK = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=([A-Za-z0-9_-]+)")
CODE = re.compile(r"\b(P-[A-Z0-9]{4,8})\b")
_OUTGOING = ("send", "edit", "answer", "delete")


class OfflineRequests(Requests):
    """The bot's three clients, all answered in-process by one OfflineTelegram."""

    def __init__(self, world: OfflineTelegram) -> None:
        super().__init__()
        self.world = world

    def bot(self) -> BaseRequest:
        return OfflineRequest(self.world, "bot")

    def updates(self) -> BaseRequest:
        return OfflineRequest(self.world, "updates")

    def urgent(self) -> BaseRequest:
        return OfflineRequest(self.world, "urgent")


@dataclass
class Exchange:
    """What the bot did while handling one update (or one dispatcher pass)."""

    calls: list[Call]
    sent: list[Sent]
    chat_id: int | None

    @property
    def replies(self) -> list[Sent]:
        """The messages sent into the chat the update came from."""
        return [sent for sent in self.sent if sent.chat_id == self.chat_id]

    @property
    def reply(self) -> Sent:
        """The one message sent into the update's chat (fails if there were more or none)."""
        replies = self.replies
        assert len(replies) == 1, [r.text[:80] for r in replies]
        return replies[0]

    @property
    def texts(self) -> list[str]:
        return [sent.text for sent in self.replies]

    def to(self, chat_id: int) -> list[Sent]:
        return [sent for sent in self.sent if sent.chat_id == chat_id]

    @property
    def answers(self) -> list[str]:
        """The texts of the callback answers that Telegram accepted."""
        return [
            str(call.params.get("text", ""))
            for call in self.calls
            if call.method == "answerCallbackQuery" and call.ok
        ]

    @property
    def answer(self) -> str:
        """The one accepted callback answer (fails if the button was answered 0 or 2 times)."""
        assert len(self.answers) == 1, self.answers
        return self.answers[0]

    @property
    def edits(self) -> list[Call]:
        return [call for call in self.calls if call.method.startswith("edit") and call.ok]

    @property
    def outgoing(self) -> list[Call]:
        """Every call that says or changes something in a chat, successful or not."""
        return [call for call in self.calls if call.method.startswith(_OUTGOING)]

    @property
    def silent(self) -> bool:
        return not self.outgoing


@dataclass
class InProcessBot:
    """The real application over OfflineTelegram, with a manual clock and a real database."""

    world: OfflineTelegram
    updates: Updates
    clock: ManualClock
    settings: Settings
    staff: TgUser
    staff_group: TgGroup
    content: Content
    app: AfterglowApp | None = None

    @property
    def svc(self) -> Services:
        assert self.app is not None
        return services_of(self.app)

    async def start(self) -> None:
        app = build_application(
            self.settings,
            clock=self.clock,
            content=self.content,
            requests=OfflineRequests(self.world),
            dispatch_interval=3600.0,
            rate_limit_per_second=0,
        )
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        self.app = app

    async def stop(self) -> None:
        app, self.app = self.app, None
        if app is None:
            return
        try:
            if app.post_stop is not None:
                await app.post_stop(app)
        finally:
            await app.shutdown()
            if app.post_shutdown is not None:
                await app.post_shutdown(app)

    def _mark(self) -> tuple[int, int]:
        self.world.date = int(self.clock.now().timestamp())
        return len(self.world.calls), len(self.world.sent)

    def _since(self, mark: tuple[int, int], chat_id: int | None) -> Exchange:
        calls, sent = mark
        return Exchange(self.world.calls[calls:], self.world.sent[sent:], chat_id)

    async def process(self, payload: JSON) -> Exchange:
        """Hand one update to the application and wait for everything it started."""
        assert self.app is not None
        mark = self._mark()
        update = Update.de_json(payload, self.app.bot)
        await self.app.process_update(update)
        await self.svc.alerts.drain()
        chat = update.effective_chat
        return self._since(mark, chat.id if chat is not None else None)

    async def send(self, user: TgUser, text: str, chat: Chat | None = None) -> Exchange:
        """Send a text (commands carry their bot_command entity) and return what came back."""
        return await self.process(self.updates.text(user, text, chat))

    async def press(
        self, user: TgUser, message: Sent | JSON | None, data: str | None, *, check: bool = True
    ) -> Exchange:
        """Press a button; unless check=False, the press must have been answered exactly once."""
        exchange = await self.process(self.updates.press(user, message, data))
        if check:
            assert len(exchange.answers) == 1, f"button answered {exchange.answers}"
        return exchange

    async def stop_messages(self, user: TgUser) -> Exchange:
        """Send /stop and confirm it; return what the confirmation did."""
        asked = await self.send(user, "/stop")
        assert asked.reply.text == texts.STOP_CONFIRM, asked.reply.text
        return await self.press(user, asked.reply, "st:yes")

    async def tick(self) -> Exchange:
        """One dispatcher pass, as the job would run it."""
        mark = self._mark()
        await dispatch_once(self.svc)
        await self.svc.alerts.drain()
        return self._since(mark, None)

    async def invite(self, label: str | None = None) -> tuple[str, str]:
        """Invite a patient as staff in private; return (code, token)."""
        text = "/invite" if label is None else f"/invite {label}"
        reply = (await self.send(self.staff, text)).reply.text
        link, code = LINK.search(reply), CODE.search(reply)
        assert link is not None, reply
        assert code is not None, reply
        return code.group(1), link.group(1)

    async def enrol(self, user: TgUser, time: str = "09:00") -> str:
        """Invitation, consent and a time; return the patient's code."""
        code, token = await self.invite()
        consent = (await self.send(user, f"/start {token}")).reply
        agreed = await self.press(user, consent, consent.buttons()[0][1])
        times = agreed.reply
        chosen = await self.press(user, times, f"t:{time.replace(':', '')}")
        assert time in chosen.reply.text
        return code

    async def enrol_and_infuse(self, user: TgUser, time: str = "09:00") -> str:
        """Enrol a patient and record an infusion now; return the code."""
        code = await self.enrol(user, time)
        recorded = await self.send(self.staff, f"/infusion {code}")
        assert code in recorded.reply.text
        return code

    async def checkin_prompt(self, user: TgUser) -> Sent:
        """Ask for an extra check-in with /checkin and return the prompt with its buttons."""
        prompt = (await self.send(user, "/checkin")).reply
        assert len(prompt.buttons()) == 11, prompt.buttons()
        return prompt

    def user(self, first_name: str = "Pat", username: str | None = None) -> TgUser:
        return self.updates.user(first_name, username)


@pytest.fixture(scope="session")
def content() -> Content:
    """The shipped protocol, explainers and crisis patterns, loaded and checked once."""
    return load_content()


@pytest.fixture
async def bot(tmp_path: Path, content: Content) -> AsyncIterator[InProcessBot]:
    """Start the bot in-process; stop it and check it asked for no method the double lacks."""
    world = OfflineTelegram()
    updates = Updates(world)
    staff = updates.user("Nurse", "nurse")
    group = updates.group("Clinic staff")
    harness = InProcessBot(
        world=world,
        updates=updates,
        clock=ManualClock(START),
        settings=Settings(
            token=TOKEN,
            staff_chat_id=group.id,
            admin_ids=frozenset({staff.id}),
            api_base_url="http://127.0.0.1:9/bot",
            db_path=tmp_path / "afterglow.db",
            timezone=CLINIC_TZ,
        ),
        staff=staff,
        staff_group=group,
        content=content,
    )
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
    assert world.unexpected == []


async def patient_of(bot: InProcessBot, user: TgUser) -> Patient:
    """Return the patient record bound to a user (fails if there is none)."""
    found = await bot.svc.storage.patients.by_user(user.id)
    assert found is not None
    return found


async def due_prompt(bot: InProcessBot, user: TgUser, index: int = 0) -> tuple[Sent, Checkin]:
    """Move the clock to a planned check-in, run the dispatcher, return the prompt sent."""
    patient = await patient_of(bot, user)
    rows = await bot.svc.storage.checkins.for_patient(patient.id)
    bot.clock.set(rows[index].due_at)
    prompts = [m for m in (await bot.tick()).to(user.id) if len(m.buttons()) == 11]
    assert len(prompts) == 1
    return prompts[0], rows[index]

"""The facade: starting and stopping, waiting helpers, and a real Application polling it."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time

import pytest
from telegram import Bot, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from bot.fake_telegram import FakeTelegramServer, FakeUser, Fault
from tests.fake_telegram.helpers import KEYBOARD, TOKEN, api


async def test_start_stop_and_context_manager() -> None:
    server = FakeTelegramServer(token=TOKEN)
    with pytest.raises(RuntimeError):
        _ = server.base_url
    await server.start()
    with pytest.raises(RuntimeError):
        await server.start()
    port = server.port
    await server.stop()
    await server.stop()
    async with FakeTelegramServer(token=TOKEN) as again:
        assert again.port > 0
    assert port > 0


async def test_wait_for_message(server: FakeTelegramServer, bot: Bot, alice: FakeUser) -> None:
    await bot.send_message(alice.id, "old")

    async def later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(alice.id, "first")
        await bot.send_message(alice.id, "second")

    task = asyncio.create_task(later())
    got = await server.wait_for_message(alice.id, lambda m: m.text == "second", timeout=2)
    await task
    assert got.text == "second"
    with pytest.raises(TimeoutError, match="Arrived in that chat meanwhile: nothing"):
        await server.wait_for_message(alice.id, timeout=0.1)
    result = await server.wait_for(lambda: len(server.sent) >= 3 and server.sent[-1])
    assert result is server.sent[-1]
    with pytest.raises(asyncio.TimeoutError):
        await server.wait_for(lambda: False, timeout=0.05)


async def test_application_polls_and_handles_updates(
    server: FakeTelegramServer, alice: FakeUser
) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("How do you feel?", reply_markup=KEYBOARD)

    async def mood(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        assert query.data is not None
        await query.answer("Noted")
        await query.edit_message_text(f"Thanks, you feel {query.data.split(':')[1]}.")

    application = (
        Application.builder()
        .token(TOKEN)
        .base_url(server.base_url)
        .request(HTTPXRequest(read_timeout=2))
        .get_updates_request(HTTPXRequest(read_timeout=2))
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(mood, pattern="^mood:"))
    group = server.add_group(title="Clinic staff")
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=dtm.timedelta(seconds=5))
        try:
            server.send_message(alice, "/start")
            question = await server.wait_for_message(alice.id)
            assert question.text == "How do you feel?"
            server.press_button(alice, question, question.button("Good"))
            await server.wait_for(lambda: question.edited)
            assert question.text == "Thanks, you feel good."
            assert server.callback_answers[0]["text"] == "Noted"

            server.send_message(alice, "/start@afterglow_test_bot", chat=group)
            in_group = await server.wait_for_message(group.id)
            assert in_group.text == "How do you feel?"
        finally:
            await application.updater.stop()
            await application.stop()
    assert "deleteWebhook" in [call.method for call in server.calls]


async def test_restart_keeps_the_world_and_stop_cuts_delays_short() -> None:
    server = FakeTelegramServer(token=TOKEN)
    await server.start()
    user = server.add_user(first_name="U")
    await server.stop()
    await server.start()
    try:
        assert (await api(server, "sendMessage", chat_id=user.id, text="again"))["ok"] is True
        server.inject_fault(Fault(method="sendMessage", delay=30))
        slow = asyncio.create_task(api(server, "sendMessage", chat_id=user.id, text="x"))
        await server.wait_for(lambda: len(server.calls_to("sendMessage")) == 2)
        started = time.monotonic()
        await server.stop()
        assert (await slow)["error_code"] == 504
        assert time.monotonic() - started < 2
        assert [m.text for m in server.sent] == ["again"]
    finally:
        await server.stop()

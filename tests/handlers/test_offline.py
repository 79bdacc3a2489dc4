"""The in-process Bot API itself: it must refuse what Telegram refuses, or the tier would lie."""

from __future__ import annotations

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from tests.handlers.conftest import TOKEN, InProcessBot
from tests.handlers.offline import (
    MAX_TEXT,
    Failure,
    OfflineRequest,
    bad_request,
    connection_refused,
    forbidden,
    read_timeout,
    retry_after,
)


async def test_every_request_stays_in_process_and_is_recorded(bot: InProcessBot) -> None:
    methods = [(call.via, call.method) for call in bot.world.calls]
    assert methods[:2] == [("bot", "getMe"), ("urgent", "getMe")]
    assert {method for _, method in methods} == {"getMe", "setMyCommands"}
    assert bot.world.unexpected == []


async def test_faults_fail_as_often_as_told_then_heal(bot: InProcessBot) -> None:
    assert bot.app is not None
    chat = bot.staff.id
    # A Bot without the flood limiter, on the urgent client (as crisis replies are sent).
    urgent = Bot(TOKEN, request=OfflineRequest(bot.world, "urgent"))
    cases: list[tuple[Failure, type[Exception]]] = [
        (forbidden(), Forbidden),
        (bad_request(), BadRequest),
        (retry_after(7), RetryAfter),
        (read_timeout(), TimedOut),
        (connection_refused(), NetworkError),
    ]
    for failure, _ in cases:
        bot.world.fail("sendMessage", failure, chat_id=chat, via="urgent", times=2)
    async with urgent:
        for _, error in cases:
            for _ in range(2):
                with pytest.raises(error):
                    await urgent.send_message(chat, "hi")
        assert (await urgent.send_message(chat, "now it works")).text == "now it works"
    failed = [call.failed for call in bot.world.calls_to("sendMessage")]
    assert failed[:-1] == [
        "403 Forbidden: bot was blocked by the user",
        "403 Forbidden: bot was blocked by the user",
        "400 Bad Request: something is wrong",
        "400 Bad Request: something is wrong",
        "429 Too Many Requests: retry after 7",
        "429 Too Many Requests: retry after 7",
        "TimedOut",
        "TimedOut",
        "NetworkError",
        "NetworkError",
    ]
    assert failed[-1] is None
    # Faults for one client leave the other alone; heal() drops what is left.
    bot.world.fail("sendMessage", forbidden(), via="urgent", times=None)
    assert (await bot.app.bot.send_message(chat, "other client")).text == "other client"
    bot.world.heal()
    async with urgent:
        assert (await urgent.send_message(chat, "again")).message_id > 0


async def test_telegram_limits_are_enforced(bot: InProcessBot) -> None:
    assert bot.app is not None
    send = bot.app.bot.send_message
    chat = bot.staff.id
    assert (await send(chat, "x" * MAX_TEXT)).text
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await send(chat, "x" * (MAX_TEXT + 1))
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await send(chat, "\U0001f600" * (MAX_TEXT // 2 + 1))  # two UTF-16 units each
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await send(123, "to a chat the bot has never seen")
    too_big = InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await send(chat, "button", reply_markup=too_big)


async def test_edits_and_callback_answers_are_checked(bot: InProcessBot) -> None:
    assert bot.app is not None
    message = await bot.app.bot.send_message(bot.staff.id, "hello")
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await message.edit_text("hello")
    with pytest.raises(BadRequest, match=r"(?i)not found"):
        await bot.app.bot.edit_message_text("x", chat_id=bot.staff.id, message_id=999)
    press = bot.updates.press(bot.staff, None, "whatever")
    query_id = press["callback_query"]["id"]
    assert await bot.app.bot.answer_callback_query(query_id, "one")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.app.bot.answer_callback_query(query_id, "two")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.app.bot.answer_callback_query("never-pressed")


async def test_a_method_the_double_does_not_know_is_reported(bot: InProcessBot) -> None:
    assert bot.app is not None
    with pytest.raises(InvalidToken):  # what python-telegram-bot makes of a 404
        await bot.app.bot.send_dice(bot.staff.id)
    assert bot.world.unexpected == ["sendDice"]
    bot.world.unexpected.clear()  # the fixture fails a test that leaves one behind

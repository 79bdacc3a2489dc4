"""The fake Bot API server, driven by PTB's own Bot and Application over real HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import struct
import time
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from bot.fake_telegram import FakeChat, FakeTelegramServer, FakeUser, Fault, SentMessage

TOKEN = "123456:TEST"
KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("😊 Good", callback_data="mood:good")],
        [
            InlineKeyboardButton("😞 Bad", callback_data="mood:bad"),
            InlineKeyboardButton("Help", url="https://example.org/help"),
        ],
    ]
)


def png(width: int, height: int) -> bytes:
    """Return a tiny but valid PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\x10\x20\x30" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def make_bot(server: FakeTelegramServer, *, read_timeout: float = 2.0, token: str = TOKEN) -> Bot:
    """Return a PTB Bot that talks to the fake server."""
    return Bot(
        token,
        base_url=server.base_url,
        request=HTTPXRequest(read_timeout=read_timeout),
        get_updates_request=HTTPXRequest(read_timeout=read_timeout),
    )


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    """Run a fake server for one test."""
    async with FakeTelegramServer(
        token=TOKEN, bot_username="afterglow_test_bot", bot_id=123456
    ) as running:
        yield running


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    """Return an initialized PTB Bot pointed at the fake server."""
    async with make_bot(server) as ptb_bot:
        yield ptb_bot


@pytest.fixture
def alice(server: FakeTelegramServer) -> FakeUser:
    """Return a simulated user."""
    return server.add_user(first_name="Alice", username="alice")


async def raw_post(server: FakeTelegramServer, path: str, **kwargs: object) -> httpx.Response:
    """POST straight to the server, bypassing PTB."""
    async with httpx.AsyncClient() as client:
        return await client.post(f"http://127.0.0.1:{server.port}{path}", **kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- basics


async def test_get_me_describes_the_bot(server: FakeTelegramServer, bot: Bot) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/bot"
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "afterglow_test_bot", True)
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is False
    assert me.supports_inline_queries is False
    assert [call.method for call in server.calls] == ["getMe", "getMe"]


async def test_wrong_token_is_unauthorized(server: FakeTelegramServer) -> None:
    with pytest.raises(InvalidToken):
        async with make_bot(server, token="654321:WRONG"):
            pass
    response = await raw_post(server, "/bot654321:WRONG/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_unknown_method_and_path_are_not_found(server: FakeTelegramServer) -> None:
    for path in (f"/bot{TOKEN}/sendTelepathy", "/favicon.ico"):
        response = await raw_post(server, path)
        assert response.status_code == 404
        assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_users_groups_and_private_chats(server: FakeTelegramServer) -> None:
    alice = server.add_user(first_name="Alice", username="alice")
    bob = server.add_user(first_name="Bob")
    group = server.add_group(title="Clinic staff")
    assert alice.id > 0
    assert bob.id > 0
    assert alice.id != bob.id != server.bot_id
    assert not alice.is_bot
    assert group.id < 0
    assert group.type == "group"
    assert group.title == "Clinic staff"
    chat = server.private_chat(alice)
    assert (chat.id, chat.type, chat.first_name, chat.username) == (
        alice.id,
        "private",
        "Alice",
        "alice",
    )


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


# --------------------------------------------------------------------------- sending


async def test_send_message_round_trip(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    before = int(time.time())
    message = await bot.send_message(alice.id, "How are you today?", reply_markup=KEYBOARD)
    assert message.text == "How are you today?"
    assert message.chat.id == alice.id
    assert message.chat.type == "private"
    assert message.chat.first_name == "Alice"
    assert message.from_user is not None
    assert message.from_user.id == server.bot_id
    assert message.reply_markup == KEYBOARD
    assert message.date.timestamp() >= before

    [sent] = server.sent
    assert isinstance(sent, SentMessage)
    assert (sent.message_id, sent.chat_id, sent.method) == (
        message.message_id,
        alice.id,
        "sendMessage",
    )
    assert sent.text == "How are you today?"
    assert not sent.edited
    assert sent.photo is None
    assert sent.reply_markup is not None
    assert "inline_keyboard" in sent.reply_markup
    assert sent.buttons() == [("😊 Good", "mood:good"), ("😞 Bad", "mood:bad")]
    assert sent.button("Bad") == "mood:bad"
    with pytest.raises(LookupError, match="Maybe"):
        sent.button("Maybe")
    name, params = server.calls[-1]
    assert name == "sendMessage"
    assert params["chat_id"] == alice.id
    assert params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "mood:good"


async def test_message_ids_increase_per_chat(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    bob = server.add_user(first_name="Bob")
    ids_alice = [(await bot.send_message(alice.id, f"a{i}")).message_id for i in range(3)]
    ids_bob = [(await bot.send_message(bob.id, f"b{i}")).message_id for i in range(2)]
    assert ids_alice == sorted(ids_alice)
    assert len(set(ids_alice)) == 3
    assert ids_bob == sorted(ids_bob)
    assert [m.text for m in server.messages(alice.id)] == ["a0", "a1", "a2"]
    assert [m.text for m in server.messages(bob)] == ["b0", "b1"]


async def test_unknown_chat_is_not_found(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hello?")


async def test_reply_keyboard_is_recorded_but_not_echoed(
    bot: Bot, server: FakeTelegramServer, alice: FakeUser
) -> None:
    markup = ReplyKeyboardMarkup([[KeyboardButton("1"), KeyboardButton("2")]])
    message = await bot.send_message(alice.id, "Pick", reply_markup=markup)
    assert message.reply_markup is None
    assert server.sent[-1].reply_markup == markup.to_dict()
    assert server.sent[-1].buttons() == []


async def test_invalid_callback_data_is_rejected(bot: Bot, alice: FakeUser) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(alice.id, "Pick", reply_markup=markup)


async def test_html_is_parsed_like_telegram(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    message = await bot.send_message(
        alice.id, "<b>Mood</b> today: &lt;3 <i>great</i>", parse_mode=ParseMode.HTML
    )
    assert message.text == "Mood today: <3 great"
    assert message.text_html == "<b>Mood</b> today: &lt;3 <i>great</i>"
    assert server.sent[-1].text == "Mood today: <3 great"
    assert [e["type"] for e in server.sent[-1].entities] == ["bold", "italic"]
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: unsupported start tag"):
        await bot.send_message(alice.id, "Feeling <3 today", parse_mode=ParseMode.HTML)


async def test_markdown_v2_reserved_characters(bot: Bot, alice: FakeUser) -> None:
    with pytest.raises(BadRequest, match=r"(?i)character '.' is reserved"):
        await bot.send_message(alice.id, "Version 1.0", parse_mode=ParseMode.MARKDOWN_V2)
    ok = await bot.send_message(alice.id, r"*Score* 7\.5", parse_mode=ParseMode.MARKDOWN_V2)
    assert ok.text == "Score 7.5"
    assert ok.entities[0].type == "bold"


async def test_send_photo_returns_photo_sizes(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    image = png(400, 200)
    message = await bot.send_photo(alice.id, image, caption="Your week", reply_markup=KEYBOARD)
    assert message.caption == "Your week"
    largest = message.photo[-1]
    assert (largest.width, largest.height, largest.file_size) == (400, 200, len(image))
    assert message.photo[0].width == 90
    sent = server.sent[-1]
    assert sent.method == "sendPhoto"
    assert sent.photo == image
    assert sent.text == "Your week" == sent.caption
    assert server.calls[-1].params["photo"] == image
    again = await bot.send_photo(alice.id, largest.file_id)
    assert again.photo[-1].file_unique_id == largest.file_unique_id
    assert server.sent[-1].photo == image


async def test_multipart_attach_and_json_and_query_string(
    server: FakeTelegramServer, alice: FakeUser
) -> None:
    image = png(2, 2)
    response = await raw_post(
        server,
        f"/bot{TOKEN}/sendPhoto",
        data={"chat_id": str(alice.id), "photo": "attach://pic"},
        files={"pic": ("pic.png", image, "image/png")},
    )
    assert response.json()["ok"] is True
    assert server.sent[-1].photo == image

    response = await raw_post(
        server, f"/bot{TOKEN}/sendMessage", json={"chat_id": str(alice.id), "text": "123"}
    )
    body = response.json()
    assert body["ok"] is True
    assert body["result"]["text"] == "123"
    assert server.calls[-1].params == {"chat_id": alice.id, "text": "123"}

    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"{server.base_url}{TOKEN}/sendMessage", params={"chat_id": alice.id, "text": "q"}
        )
    assert response.json()["result"]["text"] == "q"


async def test_chat_action_and_misc_methods(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    assert await bot.send_chat_action(alice.id, "typing") is True
    assert server.calls_to("sendChatAction") == [{"chat_id": alice.id, "action": "typing"}]
    assert await bot.log_out() is True
    assert await bot.close() is True


# --------------------------------------------------------------------------- edits


async def test_edit_message_text_and_markup(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    message = await bot.send_message(alice.id, "How are you?", reply_markup=KEYBOARD)
    edited = await bot.edit_message_text(
        "Thanks!", chat_id=alice.id, message_id=message.message_id
    )
    assert isinstance(edited, type(message))
    assert edited.text == "Thanks!"
    assert edited.edit_date is not None
    assert edited.reply_markup is None
    [current] = server.messages(alice.id)
    assert (current.text, current.edited, current.reply_markup) == ("Thanks!", True, None)
    assert server.sent[0] is current

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Thanks!", chat_id=alice.id, message_id=message.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=alice.id, message_id=9999)

    await bot.edit_message_reply_markup(alice.id, message.message_id, reply_markup=KEYBOARD)
    assert current.buttons()[0] == ("😊 Good", "mood:good")
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_reply_markup(alice.id, message.message_id, reply_markup=KEYBOARD)


async def test_edit_caption_and_delete(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    photo = await bot.send_photo(alice.id, png(3, 3), caption="old")
    edited = await bot.edit_message_caption(alice.id, photo.message_id, caption="new")
    assert isinstance(edited, type(photo))
    assert edited.caption == "new"
    assert server.sent[-1].text == "new"
    assert server.sent[-1].edited
    text = await bot.send_message(alice.id, "plain")
    with pytest.raises(BadRequest, match=r"(?i)no caption"):
        await bot.edit_message_caption(alice.id, text.message_id, caption="c")
    assert await bot.delete_message(alice.id, text.message_id) is True
    assert [m.message_id for m in server.messages(alice.id)] == [photo.message_id]
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(alice.id, text.message_id)


# --------------------------------------------------------------------------- updates


async def test_user_message_update_is_parsed_by_ptb(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    queued = server.send_message(alice, "/start@afterglow_test_bot abc123")
    assert queued["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 25}]
    [update] = await bot.get_updates(timeout=0)
    assert update.update_id == queued["update_id"]
    message = update.message
    assert message is not None
    assert message.from_user is not None
    assert message.text == "/start@afterglow_test_bot abc123"
    assert message.from_user.id == alice.id
    assert not message.from_user.is_bot
    assert message.from_user.language_code == "en"
    assert message.chat.type == "private"
    assert message.parse_entities() == {message.entities[0]: "/start@afterglow_test_bot"}

    group = server.add_group(title="Clinic staff")
    plain = server.send_message(alice, "just chatting", chat=group)
    assert "entities" not in plain["message"]
    assert plain["message"]["chat"] == {"id": group.id, "type": "group", "title": "Clinic staff"}


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


async def test_inject_raw_update(server: FakeTelegramServer, bot: Bot, alice: FakeUser) -> None:
    first = server.send_message(alice, "a")
    raw = server.inject_update(
        {
            "edited_message": {
                "message_id": first["message"]["message_id"],
                "date": int(time.time()),
                "edit_date": int(time.time()),
                "chat": server.private_chat(alice).to_dict(),
                "from": alice.to_dict(),
                "text": "a (edited)",
            }
        }
    )
    assert raw["update_id"] == first["update_id"] + 1
    explicit = server.inject_update(
        {"update_id": raw["update_id"] + 10, "message": first["message"]}
    )
    later = server.send_message(alice, "b")
    assert later["update_id"] == explicit["update_id"] + 1
    updates = await bot.get_updates(timeout=0)
    assert updates[1].edited_message is not None
    assert updates[1].edited_message.text == "a (edited)"


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


async def test_press_button_and_answer_callback(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    await bot.send_message(alice.id, "Mood?", reply_markup=KEYBOARD)
    sent = server.sent[-1]
    with pytest.raises(ValueError, match="no button"):
        server.press_button(alice, sent, "mood:unknown")
    update_dict = server.press_button(alice, sent, sent.button("Good"))
    second = server.press_button(alice, sent, "mood:bad")
    assert (
        update_dict["callback_query"]["chat_instance"] == second["callback_query"]["chat_instance"]
    )
    assert update_dict["callback_query"]["id"] != second["callback_query"]["id"]
    [update, _] = await bot.get_updates(timeout=0)
    query = update.callback_query
    assert query is not None
    assert query.message is not None
    assert isinstance(query.id, str)
    assert query.data == "mood:good"
    assert query.from_user.id == alice.id
    assert query.message.message_id == sent.message_id
    assert isinstance(query.message, Message)
    assert query.message.reply_markup == KEYBOARD
    assert query.chat_instance

    assert await bot.answer_callback_query(query.id, text="Noted") is True
    assert server.callback_answers == [{"callback_query_id": query.id, "text": "Noted"}]
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query.id)


async def test_block_bot_and_migrate_group(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    server.block_bot(alice)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(alice.id, "still there?")
    group = server.add_group(title="Staff")
    supergroup = server.migrate_group(group, by=alice)
    assert isinstance(supergroup, FakeChat)
    assert supergroup.type == "supergroup"
    assert str(supergroup.id).startswith("-100")
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(group.id, "hello")
    assert migrated.value.new_chat_id == supergroup.id
    await bot.send_message(supergroup.id, "hello again")
    updates = await bot.get_updates(timeout=0)
    member = updates[0].my_chat_member
    assert member is not None
    assert member.new_chat_member.status == "kicked"
    assert updates[1].message is not None
    assert updates[1].message.migrate_to_chat_id == supergroup.id
    assert updates[2].message is not None
    assert updates[2].message.migrate_from_chat_id == group.id
    server.unblock_bot(alice)
    await bot.send_message(alice.id, "welcome back")


async def test_commands_per_scope(server: FakeTelegramServer, bot: Bot, alice: FakeUser) -> None:
    commands = [BotCommand("start", "Start"), BotCommand("help", "Help")]
    assert await bot.set_my_commands(commands) is True
    assert await bot.set_my_commands(
        [BotCommand("stats", "Stats")], scope=BotCommandScopeChat(alice.id)
    )
    assert server.commands["default"] == [
        {"command": "start", "description": "Start"},
        {"command": "help", "description": "Help"},
    ]
    assert server.commands[f"chat:{alice.id}"] == [{"command": "stats", "description": "Stats"}]
    assert await bot.get_my_commands() == tuple(commands)
    assert await bot.delete_my_commands() is True
    assert await bot.get_my_commands() == ()
    assert "default" not in server.commands
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Command", "x")])


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


# --------------------------------------------------------------------------- waiting


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


# --------------------------------------------------------------------------- faults


async def test_fault_429_raises_retry_after(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    server.inject_fault(Fault(method="sendMessage", status=429, retry_after=3))
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(alice.id, "x")
    assert caught.value.retry_after == dtm.timedelta(seconds=3)
    await bot.send_message(alice.id, "fault consumed")
    assert [m.text for m in server.sent] == ["fault consumed"]
    assert server.faults == []


async def test_fault_403_for_one_chat_until_cleared(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    bob = server.add_user(first_name="Bob")
    server.inject_fault(
        Fault(
            method="sendMessage",
            status=403,
            description="Forbidden: bot was blocked by the user",
            chat_id=alice.id,
            times=None,
        )
    )
    for _ in range(3):
        with pytest.raises(Forbidden, match="blocked by the user"):
            await bot.send_message(alice.id, "x")
    await bot.send_message(bob.id, "unaffected")
    server.clear_faults()
    await bot.send_message(alice.id, "back")
    assert [m.text for m in server.sent] == ["unaffected", "back"]


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_fault_5xx_raises_network_error(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser, status: int
) -> None:
    server.inject_fault(Fault(method="sendMessage", status=status, times=2))
    for _ in range(2):
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(alice.id, "x")
        assert caught.type is NetworkError
    await bot.send_message(alice.id, "ok")


async def test_fault_migrated_group(server: FakeTelegramServer, bot: Bot) -> None:
    group = server.add_group(title="Clinic staff")
    server.inject_fault(Fault(method="sendMessage", status=400, migrate_to_chat_id=-100123))
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(group.id, "x")
    assert caught.value.new_chat_id == -100123
    moved = await bot.send_message(-100123, "moved")
    assert moved.chat.type == "supergroup"
    assert moved.chat.title == "Clinic staff"


async def test_error_bodies_follow_the_bot_api(
    server: FakeTelegramServer, alice: FakeUser
) -> None:
    server.inject_fault(Fault(method="sendMessage", status=429, retry_after=1))
    server.inject_fault(Fault(method="sendMessage", migrate_to_chat_id=-100999))
    server.inject_fault(Fault(method="sendMessage", status=502))
    expected = [
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
        ),
        (
            400,
            {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: group chat was upgraded to a supergroup chat",
                "parameters": {"migrate_to_chat_id": -100999},
            },
        ),
        (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}),
    ]
    for status, body in expected:
        response = await raw_post(
            server, f"/bot{TOKEN}/sendMessage", data={"chat_id": alice.id, "text": "x"}
        )
        assert (response.status_code, response.json()) == (status, body)


async def test_slow_delivered_response_times_out(
    server: FakeTelegramServer, alice: FakeUser
) -> None:
    server.inject_fault(Fault(method="sendMessage", delay=3.0, deliver=True))
    async with make_bot(server, read_timeout=0.3) as slow_bot:
        with pytest.raises(TimedOut):
            await slow_bot.send_message(alice.id, "did it arrive?")
    assert [m.text for m in server.sent] == ["did it arrive?"]


async def test_slow_undelivered_response_is_dropped(
    server: FakeTelegramServer, alice: FakeUser
) -> None:
    server.inject_fault(Fault(method="sendMessage", delay=0.3, deliver=False))
    async with make_bot(server, read_timeout=0.1) as slow_bot:
        with pytest.raises(TimedOut):
            await slow_bot.send_message(alice.id, "lost")
    await asyncio.sleep(0.4)
    assert server.sent == []


async def test_slow_but_patient_client_gets_the_message(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    server.inject_fault(Fault(method="sendMessage", delay=0.1))
    message = await bot.send_message(alice.id, "eventually")
    assert message.text == "eventually"
    assert [m.text for m in server.sent] == ["eventually"]


async def test_flood_limits(alice: FakeUser) -> None:
    del alice
    async with FakeTelegramServer(
        token=TOKEN, enforce_limits=True, overall_per_second=2, per_chat_per_second=1
    ) as limited:
        users = [limited.add_user(first_name=f"U{i}") for i in range(3)]
        async with make_bot(limited) as ptb_bot:
            await ptb_bot.send_message(users[0].id, "1")
            with pytest.raises(RetryAfter):
                await ptb_bot.send_message(users[0].id, "2")
            await ptb_bot.send_message(users[1].id, "3")
            with pytest.raises(RetryAfter):
                await ptb_bot.send_message(users[2].id, "4")
            assert limited.flood_429_count == 2
            assert [m.text for m in limited.sent] == ["1", "3"]
            await ptb_bot.edit_message_text("1!", chat_id=users[0].id, message_id=1)


# --------------------------------------------------------------------------- a real Application


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

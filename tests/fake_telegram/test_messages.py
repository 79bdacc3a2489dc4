"""Sending, editing and deleting messages, with the checks Telegram makes."""

from __future__ import annotations

import time

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.fake_telegram import FakeTelegramServer, FakeUser, SentMessage
from tests.fake_telegram.helpers import KEYBOARD, TOKEN, api, png, raw_post


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


async def test_chat_action(server: FakeTelegramServer, bot: Bot, alice: FakeUser) -> None:
    assert await bot.send_chat_action(alice.id, "typing") is True
    assert server.calls_to("sendChatAction") == [{"chat_id": alice.id, "action": "typing"}]
    with pytest.raises(BadRequest, match=r"(?i)wrong parameter action"):
        await bot.send_chat_action(alice.id, "dancing")


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


async def test_text_and_caption_limits_count_utf16_units(bot: Bot, alice: FakeUser) -> None:
    emoji = "😊"  # two UTF-16 code units
    assert (await bot.send_message(alice.id, emoji * 2048)).text == emoji * 2048
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(alice.id, emoji * 2048 + "a")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(alice.id, " \n ")
    photo = await bot.send_photo(alice.id, png(2, 2), caption=emoji * 512)
    assert photo.caption == emoji * 512
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_photo(alice.id, png(2, 2), caption=emoji * 512 + "a")
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.edit_message_caption(alice.id, photo.message_id, caption="a" * 1025)


async def test_the_limits_apply_to_the_text_after_parsing(bot: Bot, alice: FakeUser) -> None:
    markup = "<b>" + "a" * 4096 + "</b>"
    message = await bot.send_message(alice.id, markup, parse_mode=ParseMode.HTML)
    assert message.text == "a" * 4096
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(alice.id, "<b> </b>", parse_mode=ParseMode.HTML)


@pytest.mark.parametrize(
    ("data", "valid"),
    [("x" * 64, True), ("x" * 65, False), ("é" * 32, True), ("é" * 33, False), ("", False)],
)
async def test_callback_data_is_limited_to_64_bytes(
    bot: Bot, alice: FakeUser, data: str, valid: bool
) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data=data)]])
    if valid:
        message = await bot.send_message(alice.id, "Pick", reply_markup=markup)
        assert message.reply_markup == markup
    else:
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(alice.id, "Pick", reply_markup=markup)


async def test_invalid_inline_keyboards_are_refused(
    server: FakeTelegramServer, alice: FakeUser
) -> None:
    cases = [
        ({"inline_keyboard": [[{"text": "plain"}]]}, "Text buttons are unallowed"),
        ({"inline_keyboard": [[{"text": "x", "url": ""}]]}, "BUTTON_URL_INVALID"),
        ({"inline_keyboard": [["x"]]}, "InlineKeyboardButton must be an Object"),
        ({"inline_keyboard": [[{"callback_data": "x"}]]}, 'Field "text" must be of type String'),
        ({"inline_keyboard": {}}, 'field "inline_keyboard" must be an Array'),
        ({"buttons": []}, "can't parse reply keyboard markup JSON object"),
    ]
    for markup, description in cases:
        body = await api(server, "sendMessage", chat_id=alice.id, text="x", reply_markup=markup)
        assert body["error_code"] == 400
        assert description in body["description"]
    assert server.sent == []


async def test_replies_quote_the_message_replied_to(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    group = server.add_group(title="Clinic staff")
    asked = server.send_message(alice, "/stats", chat=group)["message"]
    reply = await bot.send_message(
        group.id, "Here", reply_parameters=ReplyParameters(asked["message_id"])
    )
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "/stats"
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(group.id, "Here", reply_parameters=ReplyParameters(999))
    lenient = ReplyParameters(999, allow_sending_without_reply=True)
    assert (
        await bot.send_message(group.id, "Here", reply_parameters=lenient)
    ).reply_to_message is None


async def test_photo_sources(server: FakeTelegramServer, bot: Bot, alice: FakeUser) -> None:
    by_url = await bot.send_photo(alice.id, "https://example.org/chart.png")
    assert (by_url.photo[-1].width, by_url.photo[-1].height) == (800, 600)
    assert server.sent[-1].photo is None
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(alice.id, "no-such-file-id")
    response = await raw_post(
        server,
        f"/bot{TOKEN}/sendPhoto",
        data={"chat_id": str(alice.id)},
        files={"photo": ("empty.png", b"", "image/png")},
    )
    assert response.json()["description"] == "Bad Request: file must be non-empty"
    body = await api(server, "sendPhoto", chat_id=alice.id)
    assert body["description"] == "Bad Request: there is no photo in the request"


async def test_what_cannot_be_edited(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    from_user = server.send_message(alice, "mine")["message"]
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("theirs", chat_id=alice.id, message_id=from_user["message_id"])
    photo = await bot.send_photo(alice.id, png(2, 2))
    with pytest.raises(BadRequest, match=r"(?i)no text in the message"):
        await bot.edit_message_text("x", chat_id=alice.id, message_id=photo.message_id)
    text = await bot.send_message(alice.id, "text")
    keyboard = ReplyKeyboardMarkup([[KeyboardButton("1")]])
    body = await api(
        server,
        "editMessageReplyMarkup",
        chat_id=alice.id,
        message_id=text.message_id,
        reply_markup=keyboard.to_dict(),
    )
    assert body["description"] == "Bad Request: inline keyboard expected"
    body = await api(server, "editMessageText", inline_message_id="abc", text="x")
    assert body["description"] == "Bad Request: message to edit not found"


async def test_parse_modes_and_explicit_entities(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)unsupported parse_mode"):
        await bot.send_message(alice.id, "*old style*", parse_mode=ParseMode.MARKDOWN)
    bold = MessageEntity(MessageEntity.BOLD, 0, 4)
    message = await bot.send_message(alice.id, "Mood <b>", entities=[bold], parse_mode="HTML")
    assert message.text == "Mood <b>"
    assert message.entities == (bold,)
    assert server.sent[-1].entities == [{"type": "bold", "offset": 0, "length": 4}]

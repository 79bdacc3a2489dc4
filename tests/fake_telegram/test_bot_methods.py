"""The bot itself: getMe, getChat and its command menus."""

from __future__ import annotations

import pytest
from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import BadRequest, ChatMigrated

from bot.fake_telegram import FakeTelegramServer, FakeUser
from tests.fake_telegram.helpers import KEYBOARD


async def test_get_me_describes_the_bot(server: FakeTelegramServer, bot: Bot) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/bot"
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "afterglow_test_bot", True)
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is False
    assert me.supports_inline_queries is False
    assert [call.method for call in server.calls] == ["getMe", "getMe"]


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


async def test_callback_queries_are_answered_once_and_only_if_pressed(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    await bot.send_message(alice.id, "Mood?", reply_markup=KEYBOARD)
    query_id = server.press_button(alice, server.sent[-1], "mood:good")["callback_query"]["id"]
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("12345")
    with pytest.raises(BadRequest, match=r"(?i)message_too_long"):
        await bot.answer_callback_query(query_id, text="x" * 201)
    assert await bot.answer_callback_query(query_id, text="x" * 200) is True
    assert server.callback_answers == [{"callback_query_id": query_id, "text": "x" * 200}]


async def test_command_menus_per_language_and_invalid_menus(
    server: FakeTelegramServer, bot: Bot
) -> None:
    assert await bot.set_my_commands([BotCommand("hilfe", "Hilfe")], language_code="de")
    assert server.commands == {"default/de": [{"command": "hilfe", "description": "Hilfe"}]}
    assert await bot.get_my_commands() == ()
    assert await bot.get_my_commands(language_code="de") == (BotCommand("hilfe", "Hilfe"),)
    with pytest.raises(BadRequest, match=r"(?i)bot_command_description_invalid"):
        await bot.set_my_commands([BotCommand("help", "")])
    with pytest.raises(BadRequest, match=r"(?i)bot_commands_too_much"):
        await bot.set_my_commands([BotCommand(f"c{i}", "x") for i in range(101)])
    assert await bot.set_my_commands([], language_code="de") is True
    assert server.commands == {}


async def test_session_methods_succeed(bot: Bot) -> None:
    assert await bot.log_out() is True
    assert await bot.close() is True


async def test_get_chat_finds_the_chats_the_bot_is_in(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    group = server.add_group("Clinic staff")

    found = await bot.get_chat(group.id)
    private = await bot.get_chat(alice.id)

    assert (found.id, found.type, found.title) == (group.id, "group", "Clinic staff")
    assert (private.id, private.type, private.first_name) == (alice.id, "private", "Alice")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.get_chat(-100987654321)


async def test_get_chat_of_an_upgraded_group_names_the_supergroup(
    server: FakeTelegramServer, bot: Bot
) -> None:
    group = server.add_group("Clinic staff")
    supergroup = server.migrate_group(group)

    with pytest.raises(ChatMigrated) as info:
        await bot.get_chat(group.id)

    assert info.value.new_chat_id == supergroup.id
    assert (await bot.get_chat(supergroup.id)).type == "supergroup"

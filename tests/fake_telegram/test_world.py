"""Simulated users and chats: their messages, button presses, blocking and group migration."""

from __future__ import annotations

import time

import pytest
from telegram import Bot, Message
from telegram.error import BadRequest, ChatMigrated, Forbidden

from bot.fake_telegram import FakeChat, FakeTelegramServer, FakeUser
from tests.fake_telegram.helpers import KEYBOARD


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


async def test_user_ids_are_chosen_or_given(server: FakeTelegramServer) -> None:
    given = server.add_user(first_name="Given", user_id=42)
    assert given.id == 42
    assert server.private_chat(given).id == 42
    for user_id in (42, 0, -5):
        with pytest.raises(ValueError, match="must be positive and unused"):
            server.add_user(first_name="Again", user_id=user_id)
    chosen = [server.add_user(first_name=f"U{i}").id for i in range(3)]
    assert len(set(chosen)) == 3
    assert server.bot_id not in chosen


async def test_only_basic_groups_migrate(server: FakeTelegramServer, alice: FakeUser) -> None:
    supergroup = server.migrate_group(server.add_group(title="Staff"))
    with pytest.raises(ValueError, match="not a basic group"):
        server.migrate_group(supergroup)
    with pytest.raises(ValueError, match="not a basic group"):
        server.migrate_group(server.private_chat(alice))


async def test_button_presses_need_an_existing_message(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    message = await bot.send_message(alice.id, "Mood?", reply_markup=KEYBOARD)
    sent = server.sent[-1]
    unchecked = server.press_button(alice, sent, "stale:data", check=False)
    assert unchecked["callback_query"]["data"] == "stale:data"
    await bot.delete_message(alice.id, message.message_id)
    with pytest.raises(ValueError, match="does not exist"):
        server.press_button(alice, sent, "mood:good", check=False)


async def test_blocking_queues_member_updates(
    server: FakeTelegramServer, bot: Bot, alice: FakeUser
) -> None:
    blocked = server.block_bot(alice)["my_chat_member"]
    assert (blocked["old_chat_member"]["status"], blocked["new_chat_member"]) == (
        "member",
        {"status": "kicked", "user": blocked["new_chat_member"]["user"], "until_date": 0},
    )
    assert blocked["new_chat_member"]["user"]["id"] == server.bot_id
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_photo(alice.id, "https://example.org/chart.png")
    unblocked = server.unblock_bot(alice)["my_chat_member"]
    assert (unblocked["old_chat_member"]["status"], unblocked["new_chat_member"]["status"]) == (
        "kicked",
        "member",
    )
    assert [u["my_chat_member"]["chat"]["id"] for u in server.pending_updates] == [alice.id] * 2

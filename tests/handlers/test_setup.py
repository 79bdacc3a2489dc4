"""Setting up: /whoami, /chatid, the bot added to a group, and `afterglow setup`'s answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from telegram import Update

from bot.runtime.settings import SetupSettings
from bot.runtime.setup_mode import SetupApp, build_setup_application
from bot.telegram import setup_texts, staff_texts, texts
from bot.telegram.commands import Audience, commands_for
from bot.telegram.setup_texts import SetupState
from tests.handlers.conftest import TOKEN, InProcessBot
from tests.handlers.offline import BOT_USERNAME, JSON, OfflineRequest, OfflineTelegram, bot_user
from tests.handlers.updates import TgGroup, TgUser, Updates


def joined(updates: Updates, by: TgUser, group: TgGroup) -> JSON:
    """The service message Telegram sends when `by` adds the bot to `group`."""
    return updates.service(by, group, {"new_chat_members": [bot_user()]})


# -- the running bot


async def test_whoami_answers_anyone_in_private_with_their_id(bot: InProcessBot) -> None:
    stranger = bot.user("Nadia")
    patient = bot.user("Pat")
    await bot.enrol(patient)
    for user in (stranger, patient, bot.staff):
        reply = (await bot.send(user, "/whoami")).reply.text
        assert reply == setup_texts.whoami(user.id)
        assert f"AFTERGLOW_ADMIN_IDS={user.id}" in reply


async def test_whoami_in_a_group_says_nothing(bot: InProcessBot) -> None:
    assert (await bot.send(bot.staff, "/whoami", chat=bot.staff_group)).silent


async def test_chatid_in_the_staff_chat_gives_the_settings_line(bot: InProcessBot) -> None:
    reply = (await bot.send(bot.staff, "/chatid", chat=bot.staff_group)).reply.text

    assert f"AFTERGLOW_STAFF_CHAT_ID={bot.staff_group.id}" in reply


async def test_chatid_from_non_staff_is_ignored_in_groups_and_refused_in_private(
    bot: InProcessBot,
) -> None:
    mallory = bot.user("Mallory")
    assert (await bot.send(mallory, "/chatid", chat=bot.staff_group)).silent
    assert (await bot.send(mallory, "/chatid")).reply.text == staff_texts.NOT_AUTHORISED


async def test_chatid_in_private_says_where_to_send_it(bot: InProcessBot) -> None:
    reply = (await bot.send(bot.staff, "/chatid")).reply.text

    assert reply == setup_texts.chatid_in_private(bot.staff_group.id)


async def test_the_bot_added_to_a_group_by_staff_says_the_groups_id(bot: InProcessBot) -> None:
    new_group = bot.updates.group("New staff group", supergroup=True)

    exchange = await bot.process(joined(bot.updates, bot.staff, new_group))

    assert exchange.reply.text == setup_texts.added_to_group(new_group.id)
    assert f"AFTERGLOW_STAFF_CHAT_ID={new_group.id}" in exchange.reply.text


async def test_the_bot_added_by_someone_else_says_nothing(bot: InProcessBot) -> None:
    family = bot.updates.group("Family chat")
    cousin = bot.user("Cousin")
    assert (await bot.process(joined(bot.updates, cousin, family))).silent
    other = {"id": 5, "is_bot": False, "first_name": "Someone"}
    staff_adds_a_person = bot.updates.service(
        bot.staff, bot.staff_group, {"new_chat_members": [other]}
    )
    assert (await bot.process(staff_adds_a_person)).silent


async def test_staff_help_lists_the_new_commands_from_the_table(bot: InProcessBot) -> None:
    reply = (await bot.send(bot.staff, "/help", chat=bot.staff_group)).reply.text

    assert reply == staff_texts.staff_help()
    for command in commands_for(Audience.STAFF):
        assert command.help_line() in reply
    assert "/whoami" in reply
    assert "/chatid" in reply


# -- `afterglow setup`


@dataclass
class SetupBot:
    world: OfflineTelegram
    updates: Updates
    app: SetupApp

    async def process(self, payload: JSON) -> list[str]:
        before = len(self.world.sent)
        await self.app.process_update(Update.de_json(payload, self.app.bot))
        return [sent.text for sent in self.world.sent[before:]]


async def setup_bot(admins: frozenset[int], state: SetupState) -> SetupBot:
    world = OfflineTelegram()
    settings = SetupSettings(token=TOKEN, api_base_url="http://127.0.0.1:9/bot", admin_ids=admins)
    app = build_setup_application(
        settings,
        state,
        request=OfflineRequest(world, "bot"),
        updates_request=OfflineRequest(world, "updates"),
    )
    await app.initialize()
    return SetupBot(world, Updates(world), app)


@pytest.fixture
async def fresh() -> AsyncIterator[SetupBot]:
    """Setup mode with nothing but the token."""
    running = await setup_bot(frozenset(), SetupState(BOT_USERNAME, admins_configured=False))
    try:
        yield running
    finally:
        await running.app.shutdown()
    assert running.world.unexpected == []


async def test_setup_mode_tells_the_first_writer_their_id_and_the_next_steps(
    fresh: SetupBot,
) -> None:
    admin = fresh.updates.user("Admin")

    replies = await fresh.process(fresh.updates.text(admin, "hello"))

    assert len(replies) == 1
    assert f"AFTERGLOW_ADMIN_IDS={admin.id}" in replies[0]
    assert f"add @{BOT_USERNAME}" in replies[0]
    assert "afterglow run" in replies[0]
    assert "/invite" in replies[0]
    assert await fresh.process(fresh.updates.text(admin, "/whoami")) == [
        setup_texts.whoami(admin.id)
    ]


async def test_setup_mode_answers_chatid_and_joining_in_any_group(fresh: SetupBot) -> None:
    admin = fresh.updates.user("Admin")
    group = fresh.updates.group("Care team")

    assert await fresh.process(joined(fresh.updates, admin, group)) == [
        setup_texts.added_to_group(group.id)
    ]
    assert await fresh.process(fresh.updates.text(admin, "/chatid", chat=group)) == [
        setup_texts.chat_id(group.id)
    ]
    supergroup = fresh.updates.group("Care team", supergroup=True)
    moved = fresh.updates.service(admin, supergroup, {"migrate_from_chat_id": group.id})
    assert await fresh.process(moved) == [setup_texts.moved_to_supergroup(supergroup.id)]


async def test_setup_mode_with_admins_answers_only_them() -> None:
    state = SetupState(
        BOT_USERNAME, admins_configured=True, staff_chat_id=-100999, staff_chat_reachable=False
    )
    # The update factory numbers users from 10001: the first one made is the admin.
    configured = await setup_bot(frozenset({10_001}), state)
    admin, stranger = configured.updates.user("Admin"), configured.updates.user("Stranger")
    assert admin.id == 10_001
    group = configured.updates.group("Someone's group")
    try:
        steps = (await configured.process(configured.updates.text(admin, "hi")))[0]
        assert "AFTERGLOW_ADMIN_IDS" not in steps
        assert "-100999, but I cannot reach that chat" in steps
        assert await configured.process(configured.updates.text(stranger, "hi")) == [
            setup_texts.NOT_READY
        ]
        assert await configured.process(configured.updates.text(stranger, "/chatid", group)) == []
        assert await configured.process(joined(configured.updates, stranger, group)) == []
    finally:
        await configured.app.shutdown()
    assert configured.world.unexpected == []
    assert "emergency" in setup_texts.NOT_READY
    assert texts.NOT_INVITED != setup_texts.NOT_READY

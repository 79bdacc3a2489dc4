"""Handlers for setting the bot up: a user's id, a group's id, the bot added to a group.

They need no database, so `afterglow setup` runs them before anything else is configured;
the running bot has them too (a new nurse sends /whoami, an admin adds the bot to a group).
"""

from __future__ import annotations

from collections.abc import Collection

from telegram import Message, Update
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.telegram import setup_texts
from bot.telegram.setup_texts import SetupState
from handlers.context import Context, Handler, from_message

PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE


async def whoami(update: Update, context: Context) -> None:
    """Tell anyone in private their Telegram user id."""
    user_id, message = from_message(update)
    await message.reply_text(setup_texts.whoami(user_id))


async def chatid(update: Update, context: Context) -> None:
    """Tell an admin the id of the group (or, in private, how to find it)."""
    _user_id, message = from_message(update)
    if message.chat.type != "private":
        await message.reply_text(setup_texts.chat_id(message.chat.id))
        return
    svc = context.bot_data.services
    staff_chat = await svc.alerts.staff_chat_id() if svc is not None else None
    await message.reply_text(setup_texts.chatid_in_private(staff_chat))


def _bot_joined(message: Message, bot_id: int) -> bool:
    if message.group_chat_created or message.supergroup_chat_created:
        return True
    return any(member.id == bot_id for member in message.new_chat_members or ())


async def joined(update: Update, context: Context) -> None:
    """Say the group's id when the bot is added to a group or the group changes its id."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_from_chat_id is not None:
        await context.bot.send_message(
            message.chat.id, setup_texts.moved_to_supergroup(message.chat.id)
        )
    elif _bot_joined(message, context.bot.id):
        await context.bot.send_message(
            message.chat.id, setup_texts.added_to_group(message.chat.id)
        )


def setup_handlers(admins: filters.BaseFilter, groups: filters.BaseFilter) -> list[Handler]:
    """Return /whoami (anyone, in private), /chatid and the greeting when added to a group.

    /chatid and the greeting answer `admins` only. /chatid answers in `groups` (the staff
    chat when running, any group in setup mode) and in private. A group's move to a
    supergroup is told only in setup mode: the running bot follows its staff group itself.
    """
    added = filters.StatusUpdate.NEW_CHAT_MEMBERS | filters.StatusUpdate.CHAT_CREATED
    return [
        CommandHandler("whoami", whoami, filters=PRIVATE),
        CommandHandler(
            "chatid",
            chatid,
            filters=admins & (filters.ChatType.PRIVATE | groups) & filters.UpdateType.MESSAGE,
        ),
        MessageHandler(admins & filters.ChatType.GROUPS & added, joined),
    ]


def setup_mode_handlers(admin_ids: Collection[int], state: SetupState) -> list[Handler]:
    """Return the handlers of `afterglow setup`: the above, and an answer to anything else.

    With no admin configured yet, anyone counts as one: there are no patients to protect.
    """
    admins = filters.User(user_id=list(admin_ids)) if admin_ids else filters.ALL

    async def next_steps(update: Update, context: Context) -> None:
        user_id, message = from_message(update)
        if not admin_ids or user_id in admin_ids:
            await message.reply_text(setup_texts.next_steps(user_id, state))
        else:
            await message.reply_text(setup_texts.NOT_READY)

    return [
        *setup_handlers(admins, filters.ChatType.GROUPS),
        MessageHandler(filters.ChatType.GROUPS & filters.StatusUpdate.MIGRATE, joined),
        MessageHandler(PRIVATE & ~filters.StatusUpdate.ALL, next_steps),
    ]

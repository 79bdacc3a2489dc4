"""Handlers for the staff roster: owners add, list, put on call and remove members."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import CommandHandler, filters

from bot.domain.errors import InputError
from bot.telegram import roster_texts, staff_texts
from handlers.context import Context, Handler, from_message


async def _owner(update: Update, context: Context) -> bool:
    """Tell whether the sender is an owner; otherwise say who may change the roster."""
    user_id, message = from_message(update)
    if context.services.roster.is_owner(user_id):
        return True
    await message.reply_text(roster_texts.OWNERS_ONLY)
    return False


async def add_staff(update: Update, context: Context) -> None:
    """Add a member with a one-time link (owners, in a private chat)."""
    user_id, message = from_message(update)
    if not await _owner(update, context):
        return
    if message.chat.type != ChatType.PRIVATE:
        await message.reply_text(roster_texts.ADD_IN_PRIVATE)
        return
    svc = context.services
    name = " ".join(context.args) if context.args else None
    try:
        invitation = await svc.roster.add(name, by=user_id, update_id=update.update_id)
    except InputError as err:
        await message.reply_text(staff_texts.input_problem(err))
        return
    if invitation is None:
        return
    link = f"https://t.me/{context.bot.username}?start={invitation.token}"
    await message.reply_text(
        roster_texts.staff_link(
            invitation.member, link, invitation.expires_at, svc.clinic.timezone
        ),
        disable_web_page_preview=True,
    )


async def list_staff(update: Update, context: Context) -> None:
    """List the roster and who is on call (any staff)."""
    _user_id, message = from_message(update)
    svc = context.services
    members = await svc.roster.members()
    if not members:
        await message.reply_text(roster_texts.NO_MEMBERS)
        return
    await message.reply_text(
        roster_texts.roster(members, svc.roster.owner_count, svc.clock.now(), svc.clinic.timezone)
    )


async def _set_on_call(update: Update, context: Context, *, on_call: bool) -> None:
    user_id, message = from_message(update)
    if not await _owner(update, context):
        return
    command = "oncall" if on_call else "offcall"
    if not context.args:
        await message.reply_text(roster_texts.NAME_USAGE.format(command=command))
        return
    try:
        member = await context.services.roster.set_on_call(
            " ".join(context.args), by=user_id, on_call=on_call
        )
    except InputError as err:
        await message.reply_text(staff_texts.input_problem(err))
        return
    await message.reply_text(roster_texts.on_call_set(member))


async def on_call(update: Update, context: Context) -> None:
    """Put a member on call (owners)."""
    await _set_on_call(update, context, on_call=True)


async def off_call(update: Update, context: Context) -> None:
    """Take a member off call (owners)."""
    await _set_on_call(update, context, on_call=False)


async def remove_staff(update: Update, context: Context) -> None:
    """Remove a member: their commands and buttons stop at once (owners)."""
    user_id, message = from_message(update)
    if not await _owner(update, context):
        return
    if not context.args:
        await message.reply_text(roster_texts.NAME_USAGE.format(command="removestaff"))
        return
    try:
        member = await context.services.roster.remove(" ".join(context.args), by=user_id)
    except InputError as err:
        await message.reply_text(staff_texts.input_problem(err))
        return
    await message.reply_text(roster_texts.removed(member))


def roster_handlers(staff: filters.BaseFilter) -> list[Handler]:
    """Return the roster commands, for messages that pass the staff filter."""
    return [
        CommandHandler("addstaff", add_staff, filters=staff),
        CommandHandler("staff", list_staff, filters=staff),
        CommandHandler("oncall", on_call, filters=staff),
        CommandHandler("offcall", off_call, filters=staff),
        CommandHandler("removestaff", remove_staff, filters=staff),
    ]

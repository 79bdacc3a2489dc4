"""The bot itself: getMe, getChat, callback answers, command menus, and session methods."""

from __future__ import annotations

import re

from bot.fake_telegram._models import JSONDict
from bot.fake_telegram._transport import ApiError, Call

from ._common import Context, Handler, target_chat

__all__ = ["BOT_METHODS"]

_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_MAX_COMMANDS = 100
_MAX_CALLBACK_ANSWER = 200


async def _get_me(ctx: Context, call: Call) -> JSONDict:
    return {
        **ctx.world.bot_from(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


_GIFT_TYPES = {
    "unlimited_gifts": False,
    "limited_gifts": False,
    "unique_gifts": False,
    "premium_subscription": False,
    "gifts_from_channels": False,
}


async def _get_chat(ctx: Context, call: Call) -> JSONDict:
    """Return a chat the bot is in (``ChatFullInfo``); unknown chats are "chat not found"."""
    chat = target_chat(ctx.world, {"chat_id": call.params.get("chat_id")}, blocked_ok=True)
    return {
        **chat.to_dict(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": dict(_GIFT_TYPES),
    }


async def _return_true(ctx: Context, call: Call) -> bool:
    return True


async def _answer_callback_query(ctx: Context, call: Call) -> bool:
    text = call.params.get("text")
    query_id = str(call.params.get("callback_query_id") or "")
    if not ctx.world.callback_pending(query_id):
        raise ApiError(
            400,
            "Bad Request: query is too old and response timeout expired or query ID is invalid",
        )
    if text is not None and len(str(text)) > _MAX_CALLBACK_ANSWER:
        raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
    ctx.world.answer_callback(query_id, call.params)
    return True


def _scope_key(params: JSONDict) -> str:
    """Return the key of ``server.commands`` for a scope and language, e.g. ``chat:42/de``."""
    scope = params.get("scope")
    if scope is None:
        key = "default"
    elif isinstance(scope, dict) and isinstance(scope.get("type"), str):
        key = str(scope["type"])
        for part in ("chat_id", "user_id"):
            if part in scope:
                key += f":{scope[part]}"
    else:
        raise ApiError(400, "Bad Request: can't parse BotCommandScope JSON object")
    language = params.get("language_code")
    return f"{key}/{language}" if language else key


def _check_commands(commands: object) -> list[JSONDict]:
    if not isinstance(commands, list):
        raise ApiError(400, "Bad Request: can't parse commands JSON object")
    if len(commands) > _MAX_COMMANDS:
        raise ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
    for command in commands:
        if not isinstance(command, dict) or not _COMMAND_RE.fullmatch(
            str(command.get("command", ""))
        ):
            raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        description = command.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 256:
            raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
    return commands


async def _set_my_commands(ctx: Context, call: Call) -> bool:
    commands = _check_commands(call.params.get("commands"))
    key = _scope_key(call.params)
    if commands:
        ctx.world.commands[key] = commands
    else:
        ctx.world.commands.pop(key, None)
    return True


async def _get_my_commands(ctx: Context, call: Call) -> list[JSONDict]:
    return list(ctx.world.commands.get(_scope_key(call.params), []))


async def _delete_my_commands(ctx: Context, call: Call) -> bool:
    ctx.world.commands.pop(_scope_key(call.params), None)
    return True


BOT_METHODS: dict[str, Handler] = {
    "getMe": _get_me,
    "getChat": _get_chat,
    "close": _return_true,
    "logOut": _return_true,
    "answerCallbackQuery": _answer_callback_query,
    "setMyCommands": _set_my_commands,
    "getMyCommands": _get_my_commands,
    "deleteMyCommands": _delete_my_commands,
}

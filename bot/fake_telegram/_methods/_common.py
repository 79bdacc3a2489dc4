"""What the method implementations share: their context and the checks Telegram makes."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.fake_telegram._faults import FloodLimits
from bot.fake_telegram._formatting import FormattingError, render, utf16_len
from bot.fake_telegram._models import FakeChat, JSONDict
from bot.fake_telegram._transport import ApiError, Call, int_param
from bot.fake_telegram._world import World

__all__ = [
    "Context",
    "Handler",
    "caption",
    "is_inline",
    "message_text",
    "reply_markup",
    "reply_target",
    "target_chat",
]

_MAX_TEXT = 4096
_MAX_CAPTION = 1024
_MAX_CALLBACK_DATA = 64
_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_BAD_MARKUP = "Bad Request: can't parse reply keyboard markup JSON object"
_BAD_BUTTON = "Bad Request: can't parse inline keyboard button: "


@dataclass(frozen=True)
class Context:
    """What a method works on: the world, and the flood limits that sending counts against."""

    world: World
    flood: FloodLimits


# A Bot API method: returns the ``result`` of a successful answer, raises ApiError otherwise.
Handler = Callable[[Context, Call], Awaitable[object]]


def target_chat(world: World, params: JSONDict, *, blocked_ok: bool = False) -> FakeChat:
    """Return the chat ``chat_id`` names, refusing what Telegram refuses to send to.

    With ``blocked_ok`` a user who blocked the bot is no refusal (reading, not sending).
    """
    raw = params.get("chat_id")
    if raw is None or raw == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    chat = world.find_chat(raw) if isinstance(raw, int) and not isinstance(raw, bool) else None
    if chat is None:
        raise ApiError(400, "Bad Request: chat not found")
    migrated_to = world.migrated_to(chat.id)
    if migrated_to is not None:
        raise ApiError(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": migrated_to},
        )
    if not blocked_ok and world.blocked(chat):
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    return chat


def _formatted(text: str, params: JSONDict, entities_key: str) -> tuple[str, list[JSONDict]]:
    explicit = params.get(entities_key)
    if explicit is not None:
        if not isinstance(explicit, list) or not all(isinstance(e, dict) for e in explicit):
            raise ApiError(400, "Bad Request: can't parse entities JSON object")
        return text, list(explicit)
    parse_mode = params.get("parse_mode")
    try:
        return render(text, str(parse_mode) if parse_mode else None)
    except FormattingError as exc:
        if str(exc).startswith("Unsupported parse_mode"):
            raise ApiError(400, "Bad Request: unsupported parse_mode") from exc
        raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from exc


def message_text(params: JSONDict) -> tuple[str, list[JSONDict]]:
    """Return a message's displayed text and entities, refusing what Telegram refuses."""
    text = params.get("text")
    plain, entities = _formatted("" if text is None else str(text), params, "entities")
    if not plain.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if utf16_len(plain) > _MAX_TEXT:
        raise ApiError(400, "Bad Request: message is too long")
    return plain, entities


def caption(params: JSONDict) -> tuple[str | None, list[JSONDict]]:
    """Return a media message's displayed caption (``None`` if none) and its entities."""
    raw = params.get("caption")
    if raw is None or raw == "":
        return None, []
    plain, entities = _formatted(str(raw), params, "caption_entities")
    if utf16_len(plain) > _MAX_CAPTION:
        raise ApiError(400, "Bad Request: message caption is too long")
    return plain, entities


def is_inline(markup: JSONDict | None) -> bool:
    """Tell whether ``markup`` is an inline keyboard (the only kind a message shows)."""
    return markup is not None and "inline_keyboard" in markup


def reply_markup(params: JSONDict, *, inline_only: bool = False) -> JSONDict | None:
    """Return the checked ``reply_markup``; edits only take inline keyboards."""
    markup = params.get("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, _BAD_MARKUP)
    if "inline_keyboard" not in markup:
        if inline_only:
            raise ApiError(400, "Bad Request: inline keyboard expected")
        if not {"keyboard", "remove_keyboard", "force_reply"} & markup.keys():
            raise ApiError(400, _BAD_MARKUP)
        return markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, 'Bad Request: field "inline_keyboard" must be an Array')
    for row in rows:
        for button in row:
            _check_button(button)
    return markup


def _check_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise ApiError(400, _BAD_BUTTON + "InlineKeyboardButton must be an Object")
    if not isinstance(button.get("text"), str):
        raise ApiError(400, _BAD_BUTTON + 'Field "text" must be of type String')
    if not _BUTTON_ACTIONS & button.keys():
        raise ApiError(400, _BAD_BUTTON + "Text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= _MAX_CALLBACK_DATA:
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    if "url" in button and not button["url"]:
        raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")


def reply_target(world: World, chat: FakeChat, params: JSONDict) -> JSONDict | None:
    """Return the message a new message replies to (without its own reply), if any."""
    reply_parameters = params.get("reply_parameters")
    allow = bool(params.get("allow_sending_without_reply", False))
    message_id: Any = params.get("reply_to_message_id")
    if isinstance(reply_parameters, dict):
        message_id = reply_parameters.get("message_id")
        allow = bool(reply_parameters.get("allow_sending_without_reply", allow))
    if message_id is None:
        return None
    target = world.message(chat.id, int_param({"id": message_id}, "id", 0))
    if target is None:
        if allow:
            return None
        raise ApiError(400, "Bad Request: message to be replied not found")
    reply = copy.deepcopy(target)
    reply.pop("reply_to_message", None)
    return reply

"""An in-process fake of the Telegram Bot API, served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import math
import random
import re
import struct
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, NamedTuple, Self, TypeVar

from aiohttp import BodyPartReader, hdrs, web

from ._formatting import FormattingError, command_entities, render, utf16_len
from ._models import FakeChat, FakeUser, Fault, JSONDict, SentMessage

__all__ = ["ApiCall", "FakeChat", "FakeTelegramServer", "FakeUser", "Fault", "SentMessage"]

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")

_MAX_BODY = 64 * 1024 * 1024
_SHUTDOWN_TIMEOUT = 2.0
_WAIT_POLL_INTERVAL = 0.05
_MAX_TEXT = 4096
_MAX_CAPTION = 1024
_INT_RE = re.compile(r"-?[0-9]{1,20}")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")

_JSON_PARAMS = frozenset(
    {
        "allowed_updates",
        "button",
        "caption_entities",
        "commands",
        "entities",
        "input_message_content",
        "link_preview_options",
        "media",
        "menu_button",
        "message_ids",
        "options",
        "prices",
        "reaction",
        "reply_markup",
        "reply_parameters",
        "results",
        "rights",
        "scope",
        "suggested_post_parameters",
    }
)
_STRING_PARAMS = frozenset(
    {
        "action",
        "animation",
        "audio",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "currency",
        "custom_title",
        "description",
        "document",
        "emoji",
        "explanation",
        "file_id",
        "first_name",
        "inline_message_id",
        "inline_query_id",
        "ip_address",
        "language_code",
        "last_name",
        "message_effect_id",
        "name",
        "next_offset",
        "parse_mode",
        "payload",
        "photo",
        "provider_token",
        "query",
        "question",
        "secret_token",
        "short_description",
        "start_parameter",
        "sticker",
        "text",
        "thumbnail",
        "title",
        "url",
        "video",
        "video_note",
        "voice",
    }
)
_JSON_PARAM_ERRORS = {
    "reply_markup": "Bad Request: can't parse reply keyboard markup JSON object",
    "entities": "Bad Request: can't parse entities JSON object",
    "caption_entities": "Bad Request: can't parse entities JSON object",
    "reply_parameters": "Bad Request: can't parse reply parameters JSON object",
    "commands": "Bad Request: can't parse commands JSON object",
    "scope": "Bad Request: can't parse BotCommandScope JSON object",
    "allowed_updates": "Bad Request: can't parse allowed updates JSON object",
}
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
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_UPDATE_TYPES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)
_OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
_TRUE_METHODS = (
    "close",
    "logOut",
    "setChatMenuButton",
    "setMyDefaultAdministratorRights",
    "setMyDescription",
    "setMyName",
    "setMyShortDescription",
)


class ApiCall(NamedTuple):
    """One Bot API request as the server decoded it."""

    method: str
    params: JSONDict


class _ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def response(self) -> web.Response:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return _json_response(body, self.code)


@dataclass
class _Upload:
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class _Call:
    method: str
    params: JSONDict
    files: dict[str, _Upload] = field(default_factory=dict)


@dataclass
class _Pending:
    update: JSONDict
    redelivery: bool = False
    handed_out: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


@dataclass
class _StoredFile:
    data: bytes | None
    meta: JSONDict
    photo_sizes: list[JSONDict] = field(default_factory=list)


def _json_response(body: JSONDict, status: int) -> web.Response:
    return web.json_response(body, status=status)


def _not_found() -> web.Response:
    return _json_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)


def _now() -> int:
    return int(time.time())


def _coerce(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError as exc:
            message = _JSON_PARAM_ERRORS.get(key, f"Bad Request: can't parse {key} JSON object")
            raise _ApiError(400, message) from exc
    if key in _STRING_PARAMS:
        return value
    if _INT_RE.fullmatch(value):
        return int(value)
    if value in ("true", "false"):
        return value == "true"
    return value


def _int_param(params: JSONDict, key: str, default: int) -> int:
    value = params.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(float(value))
    raise _ApiError(400, f"Bad Request: invalid {key} specified")


def _float_param(params: JSONDict, key: str, default: float) -> float:
    value = params.get(key)
    if value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise _ApiError(400, f"Bad Request: invalid {key} specified") from exc


def _update_type(update: JSONDict) -> str:
    return next((key for key in update if key != "update_id"), "")


def _image_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:2] != b"\xff\xd8":
        return None
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            index += 1
            continue
        marker = data[index + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return int(width), int(height)
        if marker in (0x01, 0xD8, 0xFF) or 0xD0 <= marker <= 0xD7:
            index += 2 if marker != 0xFF else 1
            continue
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        index += 2 + int(length)
    return None


def _chat_id_of(chat: int | FakeChat | FakeUser) -> int:
    return chat if isinstance(chat, int) else chat.id


def _is_inline(markup: JSONDict | None) -> bool:
    return markup is not None and "inline_keyboard" in markup


class FakeTelegramServer:
    """A fake Bot API server on 127.0.0.1 that a real PTB Application talks to over HTTP."""

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "afterglow_test_bot",
        bot_id: int | None = None,
        *,
        bot_first_name: str = "Afterglow",
        enforce_limits: bool = False,
        overall_per_second: int = 30,
        per_chat_per_second: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        first_update_id: int | None = None,
    ) -> None:
        prefix = token.split(":", 1)[0]
        self.token = token
        self.bot_username = bot_username
        self.bot_id = bot_id if bot_id is not None else (int(prefix) if prefix.isdigit() else 1)
        self.bot_first_name = bot_first_name
        self.enforce_limits = enforce_limits
        self.overall_per_second = overall_per_second
        self.per_chat_per_second = per_chat_per_second
        self._host = host
        self._requested_port = port

        self.sent: list[SentMessage] = []
        self.calls: list[ApiCall] = []
        self.callback_answers: list[JSONDict] = []
        self.commands: dict[str, list[JSONDict]] = {}
        self.updates: list[JSONDict] = []
        self.flood_429_count = 0
        self.internal_errors: list[Exception] = []
        self.webhook_url = ""
        self.webhook_secret_token: str | None = None
        self.webhook_params: JSONDict = {}

        self._users: dict[int, FakeUser] = {}
        self._chats: dict[int, FakeChat] = {}
        self._next_user_id = 100_000_001
        self._group_seq = 0
        self._pending: list[_Pending] = []
        self._delivered_ids: set[int] = set()
        self._next_update_id = (
            first_update_id if first_update_id is not None else random.randint(100_000, 900_000)
        )
        self._allowed_updates: frozenset[str] | None = None
        self._message_ids: dict[int, int] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._bot_messages: dict[tuple[int, int], SentMessage] = {}
        self._faults: list[Fault] = []
        self._callback_queries: dict[str, bool] = {}
        self._next_callback_id = random.randint(10**17, 9 * 10**17)
        self._files: dict[str, _StoredFile] = {}
        self._file_seq = 0
        self._blocked: set[int] = set()
        self._migrated: dict[int, int] = {}
        self._flood_overall: deque[float] = deque()
        self._flood_chats: dict[int, deque[float]] = {}
        self._poll_generation = 0
        self._changed = asyncio.Event()
        self._stopping = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._handlers: dict[str, Callable[[_Call], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
        }
        for name in _TRUE_METHODS:
            self._handlers[name] = self._return_true
        self._method_lookup = {name.lower(): name for name in self._handlers}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bind to 127.0.0.1 on a free port and start serving."""
        if self._runner is not None:
            raise RuntimeError("FakeTelegramServer is already running")
        self._stopping = False
        self._changed = asyncio.Event()
        app = web.Application(client_max_size=_MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown_path)
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=_SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._requested_port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        _LOGGER.debug("Fake Telegram server listening on %s", self.base_url)

    async def stop(self) -> None:
        """Stop serving; in-flight long polls and delayed answers return immediately."""
        runner = self._runner
        if runner is None:
            return
        self._stopping = True
        self._notify()
        self._runner = None
        self._port = None
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        """Start the server."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        await self.stop()

    @property
    def port(self) -> int:
        """Return the TCP port the server is bound to."""
        if self._port is None:
            raise RuntimeError("FakeTelegramServer is not running; call start() first")
        return self._port

    @property
    def base_url(self) -> str:
        """Return the URL to pass to PTB as ``base_url`` (PTB appends token and method)."""
        return f"http://{self._host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Return the URL to pass to PTB as ``base_file_url``."""
        return f"http://{self._host}:{self.port}/file/bot"

    # ------------------------------------------------------------------ people and chats

    @property
    def bot_user(self) -> JSONDict:
        """Return the bot's ``User`` object as ``getMe`` reports it."""
        return {
            **self._bot_from(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _bot_from(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def add_user(
        self,
        first_name: str,
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
    ) -> FakeUser:
        """Create a simulated user (with its private chat) and return it."""
        if user_id is None:
            while self._next_user_id in self._users or self._next_user_id == self.bot_id:
                self._next_user_id += 1
            user_id = self._next_user_id
            self._next_user_id += 1
        elif user_id <= 0 or user_id in self._users:
            raise ValueError(f"user_id {user_id} must be positive and unused")
        user = FakeUser(
            id=user_id,
            first_name=first_name,
            username=username,
            last_name=last_name,
            language_code=language_code,
        )
        self._users[user.id] = user
        self.private_chat(user)
        return user

    def private_chat(self, user: FakeUser) -> FakeChat:
        """Return the private chat between ``user`` and the bot."""
        chat = self._chats.get(user.id)
        if chat is None:
            self._users.setdefault(user.id, user)
            chat = FakeChat(
                id=user.id,
                type="private",
                first_name=user.first_name,
                last_name=user.last_name,
                username=user.username,
            )
            self._chats[chat.id] = chat
        return chat

    def add_group(self, title: str) -> FakeChat:
        """Create a basic group chat (negative id) and return it."""
        self._group_seq += 1
        chat = FakeChat(id=-(4_000_000_000 + self._group_seq), type="group", title=title)
        self._chats[chat.id] = chat
        return chat

    def add_supergroup(
        self, title: str, *, username: str | None = None, chat_id: int | None = None
    ) -> FakeChat:
        """Create a supergroup chat (id of the form -100xxxxxxxxxx) and return it."""
        if chat_id is None:
            self._group_seq += 1
            chat_id = -(10**12 + 1_000_000_000 + self._group_seq)
        chat = FakeChat(id=chat_id, type="supergroup", title=title, username=username)
        self._chats[chat.id] = chat
        return chat

    def chat(self, chat_id: int) -> FakeChat:
        """Return the known chat with this id."""
        return self._chats[chat_id]

    def block_bot(self, user: FakeUser) -> JSONDict:
        """Simulate ``user`` blocking the bot; queues the ``my_chat_member`` update."""
        self._blocked.add(user.id)
        return self._queue_member_change(user, "member", "kicked")

    def unblock_bot(self, user: FakeUser) -> JSONDict:
        """Simulate ``user`` unblocking (restarting) the bot; queues ``my_chat_member``."""
        self._blocked.discard(user.id)
        return self._queue_member_change(user, "kicked", "member")

    def _queue_member_change(self, user: FakeUser, old: str, new: str) -> JSONDict:
        def member(status: str) -> JSONDict:
            data: JSONDict = {"status": status, "user": self._bot_from()}
            if status == "kicked":
                data["until_date"] = 0
            return data

        return self.inject_update(
            {
                "my_chat_member": {
                    "chat": self.private_chat(user).to_dict(),
                    "from": user.to_dict(),
                    "date": _now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    def migrate_group(self, group: FakeChat, by: FakeUser | None = None) -> FakeChat:
        """Upgrade a basic group to a supergroup like Telegram does; returns the supergroup."""
        if group.type != "group":
            raise ValueError(f"chat {group.id} is a {group.type}, not a basic group")
        supergroup = self.add_supergroup(group.title or "")
        self._migrated[group.id] = supergroup.id
        for chat, key, value in (
            (group, "migrate_to_chat_id", supergroup.id),
            (supergroup, "migrate_from_chat_id", group.id),
        ):
            message: JSONDict = {
                "message_id": self._next_message_id(chat.id),
                "chat": chat.to_dict(),
                "date": _now(),
                key: value,
            }
            if by is not None:
                message["from"] = by.to_dict()
            self._messages[(chat.id, message["message_id"])] = message
            self.inject_update({"message": message})
        return supergroup

    # ------------------------------------------------------------------ injecting updates

    def inject_update(self, update: JSONDict) -> JSONDict:
        """Queue a raw update (id assigned if missing); re-injecting one redelivers it."""
        update = copy.deepcopy(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        query = update.get("callback_query")
        if isinstance(query, dict) and "id" in query:
            self._callback_queries.setdefault(str(query["id"]), False)
        redelivery = int(update["update_id"]) in self._delivered_ids
        self._pending.append(_Pending(update, redelivery=redelivery))
        self.updates.append(update)
        self._notify()
        return copy.deepcopy(update)

    def send_message(
        self,
        user: FakeUser,
        text: str,
        chat: FakeChat | None = None,
        *,
        reply_to: SentMessage | None = None,
        entities: list[JSONDict] | None = None,
    ) -> JSONDict:
        """Queue a text message from ``user`` (private chat by default); return the update."""
        chat = chat if chat is not None else self.private_chat(user)
        self._chats.setdefault(chat.id, chat)
        message: JSONDict = {
            "message_id": self._next_message_id(chat.id),
            "from": user.to_dict(),
            "chat": chat.to_dict(),
            "date": _now(),
            "text": text,
        }
        found = command_entities(text) if entities is None else entities
        if found:
            message["entities"] = found
        if reply_to is not None:
            replied = copy.deepcopy(self._current(reply_to).raw)
            replied.pop("reply_to_message", None)
            message["reply_to_message"] = replied
        self._messages[(chat.id, message["message_id"])] = message
        return self.inject_update({"message": message})

    def press_button(
        self, user: FakeUser, message: SentMessage, callback_data: str, *, check: bool = True
    ) -> JSONDict:
        """Queue a callback query as if ``user`` pressed an inline button; return the update."""
        current = self._current(message)
        if check and callback_data not in [data for _, data in current.buttons()]:
            raise ValueError(
                f"Message {current.message_id} in chat {current.chat_id} has no button with "
                f"callback_data {callback_data!r}; buttons: {current.buttons()}"
            )
        query_id = str(self._next_callback_id)
        self._next_callback_id += 1
        return self.inject_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.to_dict(),
                    "message": copy.deepcopy(current.raw),
                    "chat_instance": self._chat_instance(current.chat_id),
                    "data": callback_data,
                }
            }
        )

    def _current(self, message: SentMessage) -> SentMessage:
        current = self._bot_messages.get((message.chat_id, message.message_id))
        if current is None or current.deleted:
            raise ValueError(
                f"Message {message.message_id} in chat {message.chat_id} does not exist "
                "(never sent by the bot, or deleted)"
            )
        return current

    @staticmethod
    def _chat_instance(chat_id: int) -> str:
        return str((chat_id * 6364136223846793005 + 1442695040888963407) % (1 << 63))

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Return the queued updates the bot has not confirmed yet."""
        return [entry.update for entry in self._pending]

    # ------------------------------------------------------------------ inspecting output

    def messages(self, chat_id: int | FakeChat | FakeUser) -> list[SentMessage]:
        """Return the bot's messages in a chat as they currently are (edits applied)."""
        target = _chat_id_of(chat_id)
        return [m for m in self.sent if m.chat_id == target and not m.deleted]

    def calls_to(self, method: str) -> list[JSONDict]:
        """Return the params of every received call to ``method``."""
        return [call.params for call in self.calls if call.method == method]

    async def wait_for(
        self,
        predicate: Callable[[], _T | None],
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the documented test API
    ) -> _T:
        """Wait until ``predicate()`` returns something truthy and return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changed
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"Condition {predicate!r} not met within {timeout}s")
            await self._wait_event(event, min(remaining, _WAIT_POLL_INTERVAL))

    async def wait_for_message(
        self,
        chat_id: int | FakeChat | FakeUser,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the documented test API
    ) -> SentMessage:
        """Wait for a new bot message (sent after this call) in a chat and return it."""
        target = _chat_id_of(chat_id)
        start = len(self.sent)

        def find() -> SentMessage | None:
            for message in self.sent[start:]:
                if message.chat_id == target and (predicate is None or predicate(message)):
                    return message
            return None

        try:
            return await self.wait_for(find, timeout)
        except TimeoutError:
            arrived = [(m.method, m.text) for m in self.sent[start:] if m.chat_id == target]
            elsewhere = sorted({m.chat_id for m in self.sent[start:] if m.chat_id != target})
            raise TimeoutError(
                f"No new bot message in chat {target} matching {predicate!r} within {timeout}s. "
                f"Arrived in that chat meanwhile: {arrived or 'nothing'}; "
                f"other chats with new messages: {elsewhere or 'none'}; "
                f"last API calls: {[c.method for c in self.calls[-8:]]}"
            ) from None

    # ------------------------------------------------------------------ faults

    def inject_fault(self, fault: Fault) -> Fault:
        """Register a fault for matching calls; faults are checked in injection order."""
        self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every registered fault."""
        self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        """Return the faults that are still armed."""
        return list(self._faults)

    def _take_fault(self, call: _Call) -> Fault | None:
        chat_id = call.params.get("chat_id")
        for fault in self._faults:
            if fault.method is not None and fault.method.lower() != call.method.lower():
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
            return fault
        return None

    # ------------------------------------------------------------------ waiting helpers

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    @staticmethod
    async def _wait_event(event: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()

    async def _sleep(self, delay: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        while not self._stopping:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await self._wait_event(self._changed, remaining)

    # ------------------------------------------------------------------ HTTP plumbing

    async def _handle_unknown_path(self, request: web.Request) -> web.Response:
        return _not_found()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
            )
        method = self._method_lookup.get(request.match_info["method"].lower())
        if method is None:
            _LOGGER.info("Fake Telegram server: unsupported method %s", request.match_info)
            return _not_found()
        try:
            call = await self._decode(method, request)
        except _ApiError as exc:
            return exc.response()
        self.calls.append(ApiCall(method, call.params))
        self._notify()
        fault = self._take_fault(call)
        if fault is None:
            return await self._invoke(call)
        return await self._invoke_with_fault(call, fault, request)

    async def _invoke(self, call: _Call) -> web.Response:
        try:
            result = await self._handlers[call.method](call)
        except _ApiError as exc:
            return exc.response()
        except Exception as exc:
            _LOGGER.exception("Fake Telegram server failed to handle %s", call.method)
            self.internal_errors.append(exc)
            return _json_response(
                {
                    "ok": False,
                    "error_code": 500,
                    "description": f"Internal Server Error: fake server bug: {exc!r}",
                },
                500,
            )
        return _json_response({"ok": True, "result": result}, 200)

    async def _invoke_with_fault(
        self, call: _Call, fault: Fault, request: web.Request
    ) -> web.Response:
        delivered = await self._invoke(call) if fault.deliver else None
        if fault.delay > 0:
            await self._sleep(fault.delay)
        status = fault.effective_status
        if status is not None:
            if (
                fault.migrate_to_chat_id is not None
                and fault.migrate_to_chat_id not in self._chats
            ):
                old = self._chats.get(_int_param(call.params, "chat_id", 0))
                title = old.title if old is not None and old.title else "Supergroup"
                self.add_supergroup(title, chat_id=fault.migrate_to_chat_id)
            return _json_response(fault.error_body(), status)
        if delivered is not None:
            return delivered
        transport = request.transport
        if self._stopping or transport is None or transport.is_closing():
            return _json_response(Fault(status=504).error_body(), 504)
        return await self._invoke(call)

    async def _decode(self, method: str, request: web.Request) -> _Call:
        raw: dict[str, Any] = dict(request.query)
        uploads: dict[str, _Upload] = {}
        if request.body_exists:
            content_type = request.content_type
            if content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise _ApiError(400, "Bad Request: can't parse JSON body") from exc
                if not isinstance(body, dict):
                    raise _ApiError(400, "Bad Request: request body must be a JSON object")
                raw.update(body)
            elif content_type == "multipart/form-data":
                reader = await request.multipart()
                while (part := await reader.next()) is not None:
                    if not isinstance(part, BodyPartReader) or part.name is None:
                        continue
                    if part.filename is not None:
                        uploads[part.name] = _Upload(
                            part.filename,
                            part.headers.get(hdrs.CONTENT_TYPE),
                            bytes(await part.read()),
                        )
                    else:
                        raw[part.name] = await part.text()
            else:
                form = await request.post()
                raw.update({key: value for key, value in form.items() if isinstance(value, str)})
        params = {key: _coerce(key, value) for key, value in raw.items()}
        call = _Call(method, params)
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                name = value.removeprefix("attach://")
                upload = uploads.pop(name, None)
                if upload is None:
                    raise _ApiError(400, f"Bad Request: file {value} not found in the request")
                call.files[key] = upload
                params[key] = upload.data
        for name, upload in uploads.items():
            if name not in params:
                call.files[name] = upload
                params[name] = upload.data
        return call

    # ------------------------------------------------------------------ shared validation

    def _target_chat(self, params: JSONDict) -> FakeChat:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        chat: FakeChat | None = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            chat = self._chats.get(raw)
        elif isinstance(raw, str) and raw.startswith("@"):
            chat = next(
                (
                    c
                    for c in self._chats.values()
                    if c.type != "private" and c.username and c.username.lower() == raw[1:].lower()
                ),
                None,
            )
        if chat is None:
            raise _ApiError(400, "Bad Request: chat not found")
        if chat.id in self._migrated:
            raise _ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat.id]},
            )
        if chat.type == "private" and chat.id in self._blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _format(
        self, text: str, params: JSONDict, entities_key: str
    ) -> tuple[str, list[JSONDict]]:
        explicit = params.get(entities_key)
        if explicit is not None:
            if not isinstance(explicit, list) or not all(isinstance(e, dict) for e in explicit):
                raise _ApiError(400, "Bad Request: can't parse entities JSON object")
            return text, list(explicit)
        parse_mode = params.get("parse_mode")
        try:
            return render(text, str(parse_mode) if parse_mode else None)
        except FormattingError as exc:
            if str(exc).startswith("Unsupported parse_mode"):
                raise _ApiError(400, "Bad Request: unsupported parse_mode") from exc
            raise _ApiError(400, f"Bad Request: can't parse entities: {exc}") from exc

    def _reply_markup(self, params: JSONDict, *, inline_only: bool = False) -> JSONDict | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        invalid = _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if not isinstance(markup, dict):
            raise invalid
        if "inline_keyboard" not in markup:
            if inline_only:
                raise _ApiError(400, "Bad Request: inline keyboard expected")
            if not {"keyboard", "remove_keyboard", "force_reply"} & markup.keys():
                raise invalid
            return markup
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _ApiError(400, 'Bad Request: field "inline_keyboard" must be an Array')
        for row in rows:
            for button in row:
                self._check_button(button)
        return markup

    @staticmethod
    def _check_button(button: Any) -> None:
        prefix = "Bad Request: can't parse inline keyboard button: "
        if not isinstance(button, dict):
            raise _ApiError(400, prefix + "InlineKeyboardButton must be an Object")
        if not isinstance(button.get("text"), str):
            raise _ApiError(400, prefix + 'Field "text" must be of type String')
        if not _BUTTON_ACTIONS & button.keys():
            raise _ApiError(400, prefix + "Text buttons are unallowed in the inline keyboard")
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        if "url" in button and not button["url"]:
            raise _ApiError(400, "Bad Request: BUTTON_URL_INVALID")

    def _reply_target(self, chat: FakeChat, params: JSONDict) -> JSONDict | None:
        reply_parameters = params.get("reply_parameters")
        allow = bool(params.get("allow_sending_without_reply", False))
        message_id: Any = params.get("reply_to_message_id")
        if isinstance(reply_parameters, dict):
            message_id = reply_parameters.get("message_id")
            allow = bool(reply_parameters.get("allow_sending_without_reply", allow))
        if message_id is None:
            return None
        target = self._messages.get((chat.id, _int_param({"id": message_id}, "id", 0)))
        if target is None:
            if allow:
                return None
            raise _ApiError(400, "Bad Request: message to be replied not found")
        reply = copy.deepcopy(target)
        reply.pop("reply_to_message", None)
        return reply

    def _check_flood(self, chat_id: int) -> None:
        if not self.enforce_limits:
            return
        now = time.monotonic()
        overall = self._flood_overall
        per_chat = self._flood_chats.setdefault(chat_id, deque())
        windows = ((overall, self.overall_per_second), (per_chat, self.per_chat_per_second))
        for window, _ in windows:
            while window and now - window[0] >= 1.0:
                window.popleft()
        full = [window for window, limit in windows if len(window) >= limit]
        if full:
            frees_at = max(window[0] for window in full) + 1.0
            retry_after = max(1, math.ceil(frees_at - now))
            self.flood_429_count += 1
            raise _ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        overall.append(now)
        per_chat.append(now)

    def _next_message_id(self, chat_id: int) -> int:
        message_id = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = message_id
        return message_id

    def _new_bot_message(
        self, chat: FakeChat, markup: JSONDict | None, reply: JSONDict | None
    ) -> JSONDict:
        message: JSONDict = {
            "message_id": self._next_message_id(chat.id),
            "from": self._bot_from(),
            "chat": chat.to_dict(),
            "date": _now(),
        }
        if reply is not None:
            message["reply_to_message"] = reply
        if _is_inline(markup):
            message["reply_markup"] = markup
        return message

    def _record(self, call: _Call, message: JSONDict, sent: SentMessage) -> JSONDict:
        sent.params = call.params
        sent.raw = message
        sent.parse_mode = call.params.get("parse_mode")
        self._messages[(sent.chat_id, sent.message_id)] = message
        self._bot_messages[(sent.chat_id, sent.message_id)] = sent
        self.sent.append(sent)
        self._notify()
        return message

    def _store_file(self, data: bytes | None, meta: JSONDict) -> JSONDict:
        self._file_seq += 1
        meta = {
            "file_id": f"AgACAgIAAxkDAAI{self._file_seq:08d}{random.getrandbits(64):016x}",
            "file_unique_id": f"AQAD{self._file_seq:08d}",
            **meta,
        }
        if data is not None:
            meta.setdefault("file_size", len(data))
        self._files[meta["file_id"]] = _StoredFile(data, meta)
        return meta

    def _caption(self, params: JSONDict) -> tuple[str | None, list[JSONDict]]:
        caption = params.get("caption")
        if caption is None or caption == "":
            return None, []
        plain, entities = self._format(str(caption), params, "caption_entities")
        if utf16_len(plain) > _MAX_CAPTION:
            raise _ApiError(400, "Bad Request: message caption is too long")
        return plain, entities

    def _media_source(self, call: _Call, key: str) -> tuple[_Upload | None, _StoredFile | None]:
        upload = call.files.get(key)
        if upload is not None:
            if not upload.data:
                raise _ApiError(400, "Bad Request: file must be non-empty")
            return upload, None
        ref = call.params.get(key)
        if not isinstance(ref, str) or not ref:
            raise _ApiError(400, f"Bad Request: there is no {key} in the request")
        stored = self._files.get(ref)
        if stored is not None:
            return None, stored
        if ref.startswith(("http://", "https://")):
            return None, _StoredFile(None, {})
        raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _photo_sizes(self, data: bytes | None) -> list[JSONDict]:
        width, height = (_image_size(data) if data else None) or (800, 600)
        sizes: list[JSONDict] = []
        for limit in (90, 320, 800, 1280):
            scale = min(1.0, limit / max(width, height, 1))
            size_w, size_h = max(1, round(width * scale)), max(1, round(height * scale))
            file_size = len(data) if data and scale == 1.0 else None
            if file_size is None:
                base = len(data) if data else 120_000
                file_size = max(1, int(base * scale * scale))
            sizes.append(
                self._store_file(data, {"width": size_w, "height": size_h, "file_size": file_size})
            )
            if scale == 1.0:
                break
        for size in sizes:
            self._files[size["file_id"]].photo_sizes = sizes
        return sizes

    # ------------------------------------------------------------------ methods

    async def _return_true(self, call: _Call) -> bool:
        return True

    async def _get_me(self, call: _Call) -> JSONDict:
        return self.bot_user

    def _set_allowed_updates(self, value: Any) -> None:
        if not isinstance(value, list):
            raise _ApiError(400, "Bad Request: can't parse allowed updates JSON object")
        self._allowed_updates = frozenset(str(item) for item in value) or None

    def _is_allowed(self, update: JSONDict) -> bool:
        kind = _update_type(update)
        if self._allowed_updates is None:
            return kind not in _OPT_IN_UPDATE_TYPES
        return kind in self._allowed_updates

    def _confirm(self, offset: int) -> None:
        before = len(self._pending)
        if offset > 0:
            self._pending = [
                entry
                for entry in self._pending
                if entry.update_id >= offset or (entry.redelivery and not entry.handed_out)
            ]
        elif offset < 0:
            self._pending = self._pending[offset:]
        if len(self._pending) != before:
            self._notify()

    async def _get_updates(self, call: _Call) -> list[JSONDict]:
        params = call.params
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int_param(params, "offset", 0)
        limit = min(max(_int_param(params, "limit", 100), 1), 100)
        timeout = max(_float_param(params, "timeout", 0.0), 0.0)
        if "allowed_updates" in params:
            self._set_allowed_updates(params["allowed_updates"])
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            event = self._changed
            ready = [entry for entry in self._pending if self._is_allowed(entry.update)]
            ready = sorted(ready, key=lambda entry: entry.update_id)[:limit]
            remaining = deadline - loop.time()
            if ready or self._stopping or remaining <= 0:
                for entry in ready:
                    entry.handed_out = True
                    self._delivered_ids.add(entry.update_id)
                return [copy.deepcopy(entry.update) for entry in ready]
            await self._wait_event(event, remaining)

    async def _set_webhook(self, call: _Call) -> bool:
        params = call.params
        url = str(params.get("url") or "")
        if url and not url.startswith(("https://", "http://")):
            raise _ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(str(secret)):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        if "allowed_updates" in params:
            self._set_allowed_updates(params["allowed_updates"])
        self.webhook_url = url
        self.webhook_secret_token = str(secret) if url and secret is not None else None
        self.webhook_params = dict(params) if url else {}
        self._notify()
        return True

    async def _delete_webhook(self, call: _Call) -> bool:
        if call.params.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook_url = ""
        self.webhook_secret_token = None
        self.webhook_params = {}
        self._notify()
        return True

    async def _get_webhook_info(self, call: _Call) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook_url:
            info["max_connections"] = _int_param(self.webhook_params, "max_connections", 40)
            if "ip_address" in self.webhook_params:
                info["ip_address"] = str(self.webhook_params["ip_address"])
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    def _message_text(self, params: JSONDict) -> tuple[str, list[JSONDict]]:
        """Return a message's displayed text and entities, refusing what Telegram refuses."""
        text = params.get("text")
        plain, entities = self._format("" if text is None else str(text), params, "entities")
        if not plain.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > _MAX_TEXT:
            raise _ApiError(400, "Bad Request: message is too long")
        return plain, entities

    async def _send_message(self, call: _Call) -> JSONDict:
        params = call.params
        plain, entities = self._message_text(params)
        chat = self._target_chat(params)
        markup = self._reply_markup(params)
        reply = self._reply_target(chat, params)
        self._check_flood(chat.id)
        message = self._new_bot_message(chat, markup, reply)
        message["text"] = plain
        if entities:
            message["entities"] = entities
        sent = SentMessage(
            message_id=message["message_id"],
            chat_id=chat.id,
            text=plain,
            reply_markup=markup,
            date=message["date"],
            method=call.method,
            entities=entities,
        )
        return self._record(call, message, sent)

    async def _send_media(self, call: _Call, key: str) -> JSONDict:
        params = call.params
        caption, entities = self._caption(params)
        chat = self._target_chat(params)
        upload, stored = self._media_source(call, key)
        markup = self._reply_markup(params)
        reply = self._reply_target(chat, params)
        self._check_flood(chat.id)
        data = upload.data if upload is not None else (stored.data if stored else None)
        message = self._new_bot_message(chat, markup, reply)
        if key == "photo":
            sizes = stored.photo_sizes if stored is not None else []
            message["photo"] = copy.deepcopy(sizes) if sizes else self._photo_sizes(data)
        elif stored is not None and stored.meta:
            message[key] = dict(stored.meta)
        else:
            meta: JSONDict = {
                "file_name": (upload.filename if upload else None) or "document",
                "mime_type": (upload.content_type if upload else None)
                or "application/octet-stream",
            }
            message[key] = self._store_file(data, meta)
        if caption is not None:
            message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
        sent = SentMessage(
            message_id=message["message_id"],
            chat_id=chat.id,
            text=caption,
            reply_markup=markup,
            date=message["date"],
            method=call.method,
            photo=data if key == "photo" else None,
            document=data if key == "document" else None,
            entities=entities,
        )
        return self._record(call, message, sent)

    async def _send_photo(self, call: _Call) -> JSONDict:
        return await self._send_media(call, "photo")

    async def _send_document(self, call: _Call) -> JSONDict:
        return await self._send_media(call, "document")

    async def _send_chat_action(self, call: _Call) -> bool:
        self._target_chat(call.params)
        if call.params.get("action") not in _CHAT_ACTIONS:
            raise _ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    def _editable(self, params: JSONDict) -> SentMessage:
        if params.get("inline_message_id") is not None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        chat = self._target_chat(params)
        if params.get("message_id") is None:
            raise _ApiError(400, "Bad Request: message identifier is not specified")
        key = (chat.id, _int_param(params, "message_id", 0))
        sent = self._bot_messages.get(key)
        if sent is None or sent.deleted:
            if key in self._messages:
                raise _ApiError(400, "Bad Request: message can't be edited")
            raise _ApiError(400, "Bad Request: message to edit not found")
        return sent

    def _apply_edit(
        self,
        sent: SentMessage,
        text_key: str,
        text: str | None,
        entities: list[JSONDict],
        markup: JSONDict | None,
    ) -> JSONDict:
        current_markup = sent.reply_markup if _is_inline(sent.reply_markup) else None
        if text == sent.text and entities == sent.entities and markup == current_markup:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        entities_key = "entities" if text_key == "text" else "caption_entities"
        raw = sent.raw
        for key, value in ((text_key, text), (entities_key, entities), ("reply_markup", markup)):
            if value:
                raw[key] = value
            else:
                raw.pop(key, None)
        sent.text = text
        sent.entities = entities
        sent.reply_markup = markup
        sent.edited = True
        sent.edit_date = _now()
        raw["edit_date"] = sent.edit_date
        self._notify()
        return raw

    async def _edit_message_text(self, call: _Call) -> JSONDict:
        params = call.params
        plain, entities = self._message_text(params)
        sent = self._editable(params)
        if sent.method != "sendMessage":
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        markup = self._reply_markup(params, inline_only=True)
        sent.parse_mode = params.get("parse_mode")
        return self._apply_edit(sent, "text", plain, entities, markup)

    async def _edit_message_caption(self, call: _Call) -> JSONDict:
        params = call.params
        caption, entities = self._caption(params)
        sent = self._editable(params)
        if sent.method == "sendMessage":
            raise _ApiError(400, "Bad Request: there is no caption in the message to edit")
        markup = self._reply_markup(params, inline_only=True)
        sent.parse_mode = params.get("parse_mode")
        return self._apply_edit(sent, "caption", caption, entities, markup)

    async def _edit_message_reply_markup(self, call: _Call) -> JSONDict:
        sent = self._editable(call.params)
        markup = self._reply_markup(call.params, inline_only=True)
        text_key = "text" if sent.method == "sendMessage" else "caption"
        return self._apply_edit(sent, text_key, sent.text, sent.entities, markup)

    async def _delete_message(self, call: _Call) -> bool:
        chat = self._target_chat(call.params)
        key = (chat.id, _int_param(call.params, "message_id", 0))
        if self._messages.pop(key, None) is None:
            raise _ApiError(400, "Bad Request: message to delete not found")
        sent = self._bot_messages.get(key)
        if sent is not None:
            sent.deleted = True
        self._notify()
        return True

    async def _answer_callback_query(self, call: _Call) -> bool:
        query_id = str(call.params.get("callback_query_id") or "")
        if self._callback_queries.get(query_id, True):
            raise _ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is "
                "invalid",
            )
        text = call.params.get("text")
        if text is not None and len(str(text)) > 200:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._callback_queries[query_id] = True
        self.callback_answers.append(call.params)
        self._notify()
        return True

    @staticmethod
    def _scope_key(params: JSONDict) -> str:
        scope = params.get("scope")
        if scope is None:
            key = "default"
        elif isinstance(scope, dict) and isinstance(scope.get("type"), str):
            key = str(scope["type"])
            for part in ("chat_id", "user_id"):
                if part in scope:
                    key += f":{scope[part]}"
        else:
            raise _ApiError(400, "Bad Request: can't parse BotCommandScope JSON object")
        language = params.get("language_code")
        return f"{key}/{language}" if language else key

    async def _set_my_commands(self, call: _Call) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise _ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.fullmatch(
                str(command.get("command", ""))
            ):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._scope_key(call.params)
        if commands:
            self.commands[key] = commands
        else:
            self.commands.pop(key, None)
        return True

    async def _get_my_commands(self, call: _Call) -> list[JSONDict]:
        return list(self.commands.get(self._scope_key(call.params), []))

    async def _delete_my_commands(self, call: _Call) -> bool:
        self.commands.pop(self._scope_key(call.params), None)
        return True

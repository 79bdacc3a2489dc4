"""An in-process Bot API: a BaseRequest that never opens a socket, and the little world behind it.

Modelled on python-telegram-bot's own `tests/auxil/networking.py` (OfflineRequest): the Bot
methods run for real (parameters built, answers parsed into Message objects); only the HTTP
round trip is replaced. Answers are valid Bot API results, and the checks Telegram makes that
the bot could trip over are made here too (text and caption length, callback data of at most
64 bytes, a callback query answered at most once, edits of messages that do not exist or
would not change), so a product bug shows as the same error it would meet in production.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

JSON = dict[str, Any]

BOT_ID = 777000111
BOT_USERNAME = "afterglow_test_bot"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


def utf16_len(text: str) -> int:
    """Return a text's length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


# ---------------------------------------------------------------------------- failures


@dataclass(frozen=True)
class ApiError:
    """An unsuccessful answer as Telegram sends it: an HTTP status and a JSON description."""

    status: int
    description: str
    parameters: JSON | None = None

    def payload(self) -> bytes:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return json.dumps(body).encode()


def bad_request(description: str = "Bad Request: something is wrong") -> ApiError:
    return ApiError(400, description)


def forbidden() -> ApiError:
    return ApiError(403, "Forbidden: bot was blocked by the user")


def retry_after(seconds: int = 1) -> ApiError:
    # Telegram's retry_after is at least 1; python-telegram-bot ignores a 0.
    return ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})


def server_error() -> ApiError:
    return ApiError(500, "Internal Server Error")


def _caused(error: Exception, cause: Exception) -> Exception:
    error.__cause__ = cause
    return error


def read_timeout() -> Callable[[], Exception]:
    """What HTTPXRequest raises when the request went out and no answer came."""
    return lambda: _caused(TimedOut("Timed out"), httpx.ReadTimeout("read timed out"))


def connect_timeout() -> Callable[[], Exception]:
    """What HTTPXRequest raises when the connection could not even be opened in time."""
    return lambda: _caused(TimedOut("Timed out"), httpx.ConnectTimeout("connect timed out"))


def connection_refused() -> Callable[[], Exception]:
    return lambda: _caused(
        NetworkError("httpx.ConnectError: refused"), httpx.ConnectError("refused")
    )


def connection_lost() -> Callable[[], Exception]:
    return lambda: _caused(
        NetworkError("httpx.RemoteProtocolError: closed"),
        httpx.RemoteProtocolError("server closed the connection"),
    )


Failure = ApiError | Exception | Callable[[], Exception]


@dataclass
class _Fault:
    method: str
    failure: Failure
    times: int | None
    chat_id: int | None
    via: str | None

    def applies(self, call: Call) -> bool:
        return (
            self.method == call.method
            and (self.via is None or self.via == call.via)
            and (self.chat_id is None or call.params.get("chat_id") == self.chat_id)
            and (self.times is None or self.times > 0)
        )


# ---------------------------------------------------------------------------- records


@dataclass
class Call:
    """One Bot API request the bot made, with its parameters decoded from the wire format."""

    via: str  # "bot" (flood-limited), "urgent" (crisis path) or "updates"
    method: str
    params: JSON
    files: dict[str, bytes] = field(default_factory=dict)
    file_names: dict[str, str] = field(default_factory=dict)
    failed: str | None = None  # what the double answered instead of a result

    @property
    def ok(self) -> bool:
        return self.failed is None


@dataclass
class Sent:
    """A message the bot sent, kept as it stands now (edits applied)."""

    chat_id: int
    message_id: int
    method: str
    via: str
    raw: JSON
    photo: bytes | None = None
    edits: int = 0
    # A sent document: its file name and bytes.
    document: tuple[str, bytes] | None = None

    @property
    def text(self) -> str:
        return str(self.raw.get("text") or self.raw.get("caption") or "")

    def buttons(self) -> list[tuple[str, str]]:
        """Return (label, callback data) of every inline button, row by row."""
        markup = self.raw.get("reply_markup") or {}
        return [
            (str(button["text"]), str(button.get("callback_data", "")))
            for row in markup.get("inline_keyboard", [])
            for button in row
        ]

    def button(self, label: str) -> str:
        """Return the callback data of the button whose label starts with `label`."""
        for text, data in self.buttons():
            if text.startswith(label):
                return data
        raise AssertionError(f"no button {label!r} in {self.buttons()}")


# ---------------------------------------------------------------------------- the world


class OfflineTelegram:
    """What the bot's requests reach: chats, sent messages, callback queries, and faults."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.chats: dict[int, JSON] = {}
        self.unexpected: list[str] = []
        self._messages: dict[tuple[int, int], Sent] = {}
        self._message_ids: dict[int, int] = {}
        self._queries: dict[str, bool] = {}
        self._faults: list[_Fault] = []
        self.date = 1_772_434_800  # 2026-03-02 07:00 UTC, moved by the harness

    # -- set-up, used by the update factory and the tests

    def add_chat(self, chat: JSON) -> None:
        self.chats[int(chat["id"])] = chat

    def next_message_id(self, chat_id: int) -> int:
        number = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = number
        return number

    def open_query(self, query_id: str) -> None:
        self._queries[query_id] = False

    def fail(
        self,
        method: str,
        failure: Failure,
        *,
        times: int | None = 1,
        chat_id: int | None = None,
        via: str | None = None,
    ) -> None:
        """Make the next `times` calls of a method fail (None: every call from now on)."""
        self._faults.append(_Fault(method, failure, times, chat_id, via))

    def heal(self) -> None:
        """Drop every fault still waiting."""
        self._faults.clear()

    # -- what tests read

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def messages(self, chat_id: int) -> list[Sent]:
        return [sent for sent in self.sent if sent.chat_id == chat_id]

    def message(self, chat_id: int, message_id: int) -> Sent | None:
        return self._messages.get((chat_id, message_id))

    # -- the request side

    def handle(self, via: str, method: str, request_data: RequestData | None) -> tuple[int, bytes]:
        params: JSON = {}
        files: dict[str, bytes] = {}
        names: dict[str, str] = {}
        if request_data is not None:
            # The same values HTTPXRequest would put on the wire, decoded again.
            params = json.loads(json.dumps(request_data.parameters))
            for name, (filename, content, *_rest) in request_data.multipart_data.items():
                files[name] = content if isinstance(content, bytes) else content.read()
                names[name] = str(filename)
        call = Call(via, method, params, files, names)
        self.calls.append(call)
        for fault in self._faults:
            if fault.applies(call):
                if fault.times is not None:
                    fault.times -= 1
                return self._fail(call, fault.failure)
        implementation = _METHODS.get(method)
        if implementation is None:
            self.unexpected.append(method)
            return self._fail(call, ApiError(404, "Not Found: method not found"))
        try:
            result = implementation(self, call)
        except _RefusedError as refused:
            return self._fail(call, refused.error)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    @staticmethod
    def _fail(call: Call, failure: Failure) -> tuple[int, bytes]:
        if isinstance(failure, ApiError):
            call.failed = f"{failure.status} {failure.description}"
            return failure.status, failure.payload()
        error = failure if isinstance(failure, Exception) else failure()
        call.failed = type(error).__name__
        raise error

    # -- the methods

    def _chat(self, params: JSON) -> JSON:
        chat_id = params.get("chat_id")
        if chat_id is None:
            raise _RefusedError(bad_request("Bad Request: chat_id is empty"))
        chat = self.chats.get(int(chat_id))
        if chat is None:
            raise _RefusedError(bad_request("Bad Request: chat not found"))
        return chat

    def _new_message(self, call: Call, chat: JSON) -> JSON:
        message: JSON = {
            "message_id": self.next_message_id(int(chat["id"])),
            "from": bot_user(),
            "chat": copy.deepcopy(chat),
            "date": self.date,
        }
        markup = _checked_markup(call.params)
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return message

    def _record(self, call: Call, message: JSON, photo: bytes | None = None) -> JSON:
        sent = Sent(
            chat_id=int(message["chat"]["id"]),
            message_id=int(message["message_id"]),
            method=call.method,
            via=call.via,
            raw=message,
            photo=photo,
        )
        self.sent.append(sent)
        self._messages[(sent.chat_id, sent.message_id)] = sent
        return copy.deepcopy(message)

    def send_message(self, call: Call) -> JSON:
        chat = self._chat(call.params)
        text = str(call.params.get("text") or "")
        if not text.strip():
            raise _RefusedError(bad_request("Bad Request: message text is empty"))
        if utf16_len(text) > MAX_TEXT:
            raise _RefusedError(bad_request("Bad Request: message is too long"))
        message = self._new_message(call, chat)
        message["text"] = text
        return self._record(call, message)

    def send_photo(self, call: Call) -> JSON:
        chat = self._chat(call.params)
        photo = call.files.get("photo")
        if not photo:
            raise _RefusedError(bad_request("Bad Request: there is no photo in the request"))
        caption = call.params.get("caption")
        if caption is not None and utf16_len(str(caption)) > MAX_CAPTION:
            raise _RefusedError(bad_request("Bad Request: message caption is too long"))
        message = self._new_message(call, chat)
        message["photo"] = [
            {
                "file_id": f"photo-{len(self.sent)}",
                "file_unique_id": f"u{len(self.sent)}",
                "width": 800,
                "height": 400,
                "file_size": len(photo),
            }
        ]
        if caption:
            message["caption"] = str(caption)
        return self._record(call, message, photo)

    def send_document(self, call: Call) -> JSON:
        chat = self._chat(call.params)
        document = call.files.get("document")
        if not document:
            raise _RefusedError(bad_request("Bad Request: there is no document in the request"))
        caption = call.params.get("caption")
        if caption is not None and utf16_len(str(caption)) > MAX_CAPTION:
            raise _RefusedError(bad_request("Bad Request: message caption is too long"))
        message = self._new_message(call, chat)
        name = call.file_names.get("document", "document")
        message["document"] = {
            "file_id": f"document-{len(self.sent)}",
            "file_unique_id": f"d{len(self.sent)}",
            "file_name": name,
            "file_size": len(document),
        }
        if caption:
            message["caption"] = str(caption)
        recorded = self._record(call, message)
        self.sent[-1].document = (name, document)
        return recorded

    def _editable(self, call: Call) -> Sent:
        chat = self._chat(call.params)
        sent = self._messages.get((int(chat["id"]), int(call.params.get("message_id") or 0)))
        if sent is None:
            raise _RefusedError(bad_request("Bad Request: message to edit not found"))
        return sent

    def _edit(self, sent: Sent, key: str, value: str | None, markup: JSON | None) -> JSON:
        current = (sent.raw.get(key), sent.raw.get("reply_markup"))
        if current == (value, markup):
            raise _RefusedError(bad_request(NOT_MODIFIED))
        for name, new in ((key, value), ("reply_markup", markup)):
            if new:
                sent.raw[name] = new
            else:
                sent.raw.pop(name, None)
        sent.raw["edit_date"] = self.date
        sent.edits += 1
        return copy.deepcopy(sent.raw)

    def edit_message_text(self, call: Call) -> JSON:
        sent = self._editable(call)
        if sent.method != "sendMessage":
            raise _RefusedError(
                bad_request("Bad Request: there is no text in the message to edit")
            )
        text = str(call.params.get("text") or "")
        if not text.strip():
            raise _RefusedError(bad_request("Bad Request: message text is empty"))
        if utf16_len(text) > MAX_TEXT:
            raise _RefusedError(bad_request("Bad Request: MESSAGE_TOO_LONG"))
        return self._edit(sent, "text", text, _checked_markup(call.params))

    def edit_message_caption(self, call: Call) -> JSON:
        sent = self._editable(call)
        if sent.method == "sendMessage":
            raise _RefusedError(
                bad_request("Bad Request: there is no caption in the message to edit")
            )
        caption = call.params.get("caption")
        if caption is not None and utf16_len(str(caption)) > MAX_CAPTION:
            raise _RefusedError(bad_request("Bad Request: message caption is too long"))
        return self._edit(
            sent,
            "caption",
            None if caption is None else str(caption),
            _checked_markup(call.params),
        )

    def edit_message_reply_markup(self, call: Call) -> JSON:
        sent = self._editable(call)
        key = "text" if sent.method == "sendMessage" else "caption"
        return self._edit(sent, key, sent.raw.get(key), _checked_markup(call.params))

    def answer_callback_query(self, call: Call) -> bool:
        query_id = str(call.params.get("callback_query_id") or "")
        if self._queries.get(query_id) is not False:
            raise _RefusedError(bad_request(QUERY_TOO_OLD))
        text = call.params.get("text")
        if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER:
            raise _RefusedError(bad_request("Bad Request: MESSAGE_TOO_LONG"))
        self._queries[query_id] = True
        return True

    def get_me(self, call: Call) -> JSON:
        return {
            **bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def accept(self, call: Call) -> bool:
        return True

    def no_updates(self, call: Call) -> list[JSON]:
        return []


class _RefusedError(Exception):
    def __init__(self, error: ApiError) -> None:
        super().__init__(error.description)
        self.error = error


def _checked_markup(params: JSON) -> JSON | None:
    markup: JSON | None = params.get("reply_markup")
    if markup is None:
        return None
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise _RefusedError(bad_request("Bad Request: BUTTON_DATA_INVALID"))
    return markup


def bot_user() -> JSON:
    return {"id": BOT_ID, "is_bot": True, "first_name": "Afterglow", "username": BOT_USERNAME}


_METHODS: dict[str, Callable[[OfflineTelegram, Call], object]] = {
    "getMe": OfflineTelegram.get_me,
    "sendMessage": OfflineTelegram.send_message,
    "sendPhoto": OfflineTelegram.send_photo,
    "sendDocument": OfflineTelegram.send_document,
    "editMessageText": OfflineTelegram.edit_message_text,
    "editMessageCaption": OfflineTelegram.edit_message_caption,
    "editMessageReplyMarkup": OfflineTelegram.edit_message_reply_markup,
    "answerCallbackQuery": OfflineTelegram.answer_callback_query,
    "setMyCommands": OfflineTelegram.accept,
    "deleteWebhook": OfflineTelegram.accept,
    "deleteMessage": OfflineTelegram.accept,
    "sendChatAction": OfflineTelegram.accept,
    "close": OfflineTelegram.accept,
    "logOut": OfflineTelegram.accept,
    "getUpdates": OfflineTelegram.no_updates,
}


class OfflineRequest(BaseRequest):
    """A BaseRequest that hands every request to an OfflineTelegram instead of the network."""

    def __init__(self, world: OfflineTelegram, via: str) -> None:
        self._world = world
        self._via = via

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if method != "POST":
            self._world.unexpected.append(f"{method} {url.rsplit('/', 1)[-1]}")
            return 404, ApiError(404, "Not Found").payload()
        return self._world.handle(self._via, url.rsplit("/", 1)[-1], request_data)

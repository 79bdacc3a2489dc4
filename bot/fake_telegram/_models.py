"""Value types of the fake Telegram server: simulated users and chats, sent messages, faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

JSONDict = dict[str, Any]

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class FakeUser:
    """A simulated Telegram user."""

    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    def to_dict(self) -> JSONDict:
        """Return the Bot API ``User`` object for this user."""
        data: JSONDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name is not None:
            data["last_name"] = self.last_name
        if self.username is not None:
            data["username"] = self.username
        if self.language_code is not None:
            data["language_code"] = self.language_code
        return data


@dataclass(frozen=True)
class FakeChat:
    """A simulated Telegram chat (private chat, group or supergroup)."""

    id: int
    type: str
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None

    def to_dict(self) -> JSONDict:
        """Return the Bot API ``Chat`` object for this chat."""
        data: JSONDict = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass
class SentMessage:
    """A message the bot sent, kept up to date with later edits and deletions."""

    message_id: int
    chat_id: int
    text: str | None
    reply_markup: JSONDict | None
    date: int
    method: str
    edited: bool = False
    photo: bytes | None = None
    document: bytes | None = None
    entities: list[JSONDict] = field(default_factory=list)
    parse_mode: str | None = None
    edit_date: int | None = None
    deleted: bool = False
    params: JSONDict = field(default_factory=dict, repr=False)
    raw: JSONDict = field(default_factory=dict, repr=False)

    @property
    def caption(self) -> str | None:
        """Return the caption of a media message (``None`` for text messages)."""
        return None if self.method == "sendMessage" else self.text

    def buttons(self) -> list[tuple[str, str]]:
        """Return ``(text, callback_data)`` of every inline callback button, row by row."""
        markup = self.reply_markup or {}
        return [
            (str(button.get("text", "")), str(button["callback_data"]))
            for row in markup.get("inline_keyboard", [])
            for button in row
            if isinstance(button, dict) and "callback_data" in button
        ]

    def button(self, label_substring: str) -> str:
        """Return the callback_data of the first inline button whose text has the substring."""
        for text, data in self.buttons():
            if label_substring in text:
                return data
        raise LookupError(
            f"No inline button containing {label_substring!r} in message {self.message_id} "
            f"(chat {self.chat_id}); buttons: {[text for text, _ in self.buttons()]}"
        )


@dataclass
class Fault:
    """An injected failure or slowdown for matching API calls; ``times=None`` repeats forever."""

    method: str | None = None
    chat_id: int | None = None
    status: int | None = None
    description: str | None = None
    retry_after: int | None = None
    migrate_to_chat_id: int | None = None
    delay: float = 0.0
    deliver: bool = False
    times: int | None = 1

    def __post_init__(self) -> None:
        """Reject fault definitions that could never fire or never answer."""
        if self.times is not None and self.times < 1:
            raise ValueError("Fault.times must be a positive number or None (forever)")
        if self.delay < 0:
            raise ValueError("Fault.delay must not be negative")

    @property
    def effective_status(self) -> int | None:
        """Return the HTTP status this fault answers with, or ``None`` if it only delays."""
        if self.status is not None:
            return self.status
        if self.retry_after is not None:
            return 429
        if self.migrate_to_chat_id is not None:
            return 400
        return None

    def error_body(self) -> JSONDict:
        """Return the Bot API error body this fault answers with."""
        status = self.effective_status or 500
        parameters: JSONDict = {}
        if status == 429:
            parameters["retry_after"] = self.retry_after if self.retry_after is not None else 1
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        description = self.description
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {parameters['retry_after']}"
            elif self.migrate_to_chat_id is not None:
                description = "Bad Request: group chat was upgraded to a supergroup chat"
            else:
                description = _DEFAULT_DESCRIPTIONS.get(status) or _phrase(status)
        body: JSONDict = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return body


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Error {status}"

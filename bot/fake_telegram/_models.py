"""Value types of the fake Telegram server: simulated users and chats, requests, sent messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = ["ApiCall", "FakeChat", "FakeUser", "JSONDict", "SentMessage"]

JSONDict = dict[str, Any]


class ApiCall(NamedTuple):
    """One Bot API request as the server decoded it."""

    method: str
    params: JSONDict


@dataclass(frozen=True)
class FakeUser:
    """A simulated Telegram user."""

    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    def to_dict(self) -> JSONDict:
        """Return the Bot API ``User`` object for this user."""
        data: JSONDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
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
    username: str | None = None

    def to_dict(self) -> JSONDict:
        """Return the Bot API ``Chat`` object for this chat."""
        data: JSONDict = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass
class SentMessage:
    """A message the bot sent, kept up to date with later edits and deletions.

    ``params`` is the very dict of the :class:`ApiCall` that sent the message, so a message
    can be matched to its call by identity.
    """

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

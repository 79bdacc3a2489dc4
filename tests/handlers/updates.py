"""Update factories: the JSON Telegram would deliver, for private chats, groups and buttons."""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import dataclass
from typing import Any

from tests.handlers.offline import JSON, OfflineTelegram, Sent, utf16_len

# What Telegram marks as a bot command (as the project's fake server does).
_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?(?![A-Za-z0-9_@/])")


@dataclass(frozen=True)
class TgUser:
    """A Telegram user; their private chat with the bot has their id."""

    id: int
    first_name: str
    username: str | None = None

    def to_dict(self) -> JSON:
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        return data

    def private_chat(self) -> JSON:
        chat: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass(frozen=True)
class TgGroup:
    """A group or supergroup the bot is in."""

    id: int
    title: str
    type: str = "group"

    def to_dict(self) -> JSON:
        return {"id": self.id, "type": self.type, "title": self.title}


Chat = TgUser | TgGroup


def command_entities(text: str) -> list[JSON]:
    """Return the bot_command entities Telegram attaches to a text."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group(0)),
        }
        for match in _COMMAND.finditer(text)
    ]


class Updates:
    """Makes updates with increasing update ids, registering chats with the world."""

    def __init__(self, world: OfflineTelegram, *, first_update_id: int = 500_000) -> None:
        self._world = world
        self._update_ids = itertools.count(first_update_id)
        self._query_ids = itertools.count(1)
        self._user_ids = itertools.count(10_001)
        self._group_ids = itertools.count(1)

    # -- people and places

    def user(self, first_name: str = "Pat", username: str | None = None) -> TgUser:
        user = TgUser(next(self._user_ids), first_name, username)
        self._world.add_chat(user.private_chat())
        return user

    def group(self, title: str = "Some group", *, supergroup: bool = False) -> TgGroup:
        number = next(self._group_ids)
        if supergroup:
            group = TgGroup(-(10**12 + number), title, "supergroup")
        else:
            group = TgGroup(-(4_000_000_000 + number), title)
        self._world.add_chat(group.to_dict())
        return group

    # -- updates

    def _wrap(self, kind: str, body: JSON) -> JSON:
        return {"update_id": next(self._update_ids), kind: body}

    def _message(self, user: TgUser | None, chat: Chat | None, content: JSON) -> JSON:
        where = chat if chat is not None else user
        assert where is not None
        chat_json = where.private_chat() if isinstance(where, TgUser) else where.to_dict()
        message: JSON = {
            "message_id": self._world.next_message_id(int(chat_json["id"])),
            "date": self._world.date,
            "chat": chat_json,
        }
        if user is not None:
            message["from"] = user.to_dict()
        message.update(content)
        return message

    def text(self, user: TgUser, text: str, chat: Chat | None = None) -> JSON:
        """A text message (commands get their bot_command entities, as Telegram sends them)."""
        content: JSON = {"text": text}
        entities = command_entities(text)
        if entities:
            content["entities"] = entities
        return self._wrap("message", self._message(user, chat, content))

    def edited(self, original: JSON, new_text: str) -> JSON:
        """The edited_message update for a text message sent earlier."""
        message = copy.deepcopy(original["message"])
        message["text"] = new_text
        message["edit_date"] = self._world.date
        entities = command_entities(new_text)
        if entities:
            message["entities"] = entities
        else:
            message.pop("entities", None)
        return self._wrap("edited_message", message)

    def photo(self, user: TgUser, caption: str | None = None, chat: Chat | None = None) -> JSON:
        content: JSON = {
            "photo": [
                {"file_id": "p-small", "file_unique_id": "ps", "width": 90, "height": 90},
                {"file_id": "p-big", "file_unique_id": "pb", "width": 800, "height": 800},
            ]
        }
        if caption is not None:
            content["caption"] = caption
        return self._wrap("message", self._message(user, chat, content))

    def sticker(self, user: TgUser) -> JSON:
        sticker = {
            "file_id": "s1",
            "file_unique_id": "u1",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "emoji": "\U0001f44d",
        }
        return self._wrap("message", self._message(user, None, {"sticker": sticker}))

    def voice(self, user: TgUser) -> JSON:
        voice = {"file_id": "v1", "file_unique_id": "vu1", "duration": 3}
        return self._wrap("message", self._message(user, None, {"voice": voice}))

    def location(self, user: TgUser) -> JSON:
        location = {"latitude": 52.52, "longitude": 13.405}
        return self._wrap("message", self._message(user, None, {"location": location}))

    def contact(self, user: TgUser) -> JSON:
        contact = {"phone_number": "+4915112345678", "first_name": user.first_name}
        return self._wrap("message", self._message(user, None, {"contact": contact}))

    def service(self, user: TgUser | None, chat: Chat, content: JSON) -> JSON:
        """A service message, e.g. {"migrate_to_chat_id": ...} or {"new_chat_title": ...}."""
        return self._wrap("message", self._message(user, chat, content))

    def press(self, user: TgUser, message: Sent | JSON | None, data: str | None) -> JSON:
        """A button press on a message: a Sent (its current state), raw JSON, or None.

        `data` is sent as given, so tests can forge it; None leaves callback_data out (a
        game button).
        """
        query_id = str(next(self._query_ids))
        self._world.open_query(query_id)
        query: JSON = {"id": query_id, "from": user.to_dict(), "chat_instance": "ci-1"}
        if isinstance(message, Sent):
            query["message"] = copy.deepcopy(message.raw)
        elif message is not None:
            query["message"] = copy.deepcopy(message)
        if data is not None:
            query["data"] = data
        return self._wrap("callback_query", query)

    def inaccessible(self, chat: Chat, message_id: int) -> JSON:
        """The message Telegram puts in a callback query for a message older than 48 hours."""
        chat_json = chat.private_chat() if isinstance(chat, TgUser) else chat.to_dict()
        return {"chat": chat_json, "message_id": message_id, "date": 0}

    def raw(self, kind: str, body: dict[str, Any]) -> JSON:
        """Any other update, with a fresh update id."""
        return self._wrap(kind, body)

"""The simulated Telegram world: users, chats, messages, queued updates and the bot's settings."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import random
import time

from ._files import FileStore
from ._formatting import command_entities
from ._models import ApiCall, FakeChat, FakeUser, JSONDict, SentMessage
from ._updates import UpdateQueue

__all__ = ["World", "now"]

_FIRST_USER_ID = 100_000_001
_BOT_FIRST_NAME = "Afterglow"


def now() -> int:
    """Return the current Unix time, the unit of Bot API dates."""
    return int(time.time())


def _chat_instance(chat_id: int) -> str:
    return str((chat_id * 6364136223846793005 + 1442695040888963407) % (1 << 63))


class World:
    """Everything the fake Telegram knows, and the changes users and the bot make to it.

    Every change calls :meth:`notify`, which wakes whoever waits in :meth:`wait_change`.
    """

    def __init__(self, *, bot_id: int, bot_username: str, first_update_id: int | None) -> None:
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.sent: list[SentMessage] = []
        self.calls: list[ApiCall] = []
        self.callback_answers: list[JSONDict] = []
        self.commands: dict[str, list[JSONDict]] = {}
        self.webhook_url = ""
        self.webhook_secret_token: str | None = None
        self.webhook_max_connections = 40
        self.updates = UpdateQueue(first_update_id)
        self.files = FileStore()
        self.stopping = False
        self._changed = asyncio.Event()
        self._users: dict[int, FakeUser] = {}
        self._chats: dict[int, FakeChat] = {}
        self._next_user_id = _FIRST_USER_ID
        self._group_seq = 0
        self._blocked: set[int] = set()
        self._migrated: dict[int, int] = {}
        self._message_ids: dict[int, int] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._bot_messages: dict[tuple[int, int], SentMessage] = {}
        self._callback_queries: dict[str, bool] = {}
        self._next_callback_id = random.randint(10**17, 9 * 10**17)

    # ------------------------------------------------------------------ changes and waiting

    def notify(self) -> None:
        """Wake everyone waiting for a change."""
        self._changed.set()
        self._changed = asyncio.Event()

    @property
    def changed(self) -> asyncio.Event:
        """Return the event the next change sets; take it *before* looking at the state."""
        return self._changed

    @staticmethod
    async def wait_change(event: asyncio.Event, seconds: float) -> None:
        """Wait until ``event`` is set or ``seconds`` have passed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()

    async def sleep(self, delay: float) -> None:
        """Sleep ``delay`` seconds, or less if the server stops meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        while not self.stopping:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await self.wait_change(self._changed, remaining)

    def open(self) -> None:
        """Get ready to serve (in the running event loop)."""
        self.stopping = False
        self._changed = asyncio.Event()

    def close(self) -> None:
        """Mark the server as stopping and wake every waiter, so they answer at once."""
        self.stopping = True
        self.notify()

    # ------------------------------------------------------------------ users and chats

    def bot_from(self) -> JSONDict:
        """Return the bot's ``User`` object as the sender of its messages."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": _BOT_FIRST_NAME,
            "username": self.bot_username,
        }

    def add_user(
        self, first_name: str, username: str | None = None, *, user_id: int | None = None
    ) -> FakeUser:
        if user_id is None:
            while self._next_user_id in self._users or self._next_user_id == self.bot_id:
                self._next_user_id += 1
            user_id = self._next_user_id
            self._next_user_id += 1
        elif user_id <= 0 or user_id in self._users:
            raise ValueError(f"user_id {user_id} must be positive and unused")
        user = FakeUser(id=user_id, first_name=first_name, username=username)
        self._users[user.id] = user
        self.private_chat(user)
        return user

    def private_chat(self, user: FakeUser) -> FakeChat:
        chat = self._chats.get(user.id)
        if chat is None:
            self._users.setdefault(user.id, user)
            chat = FakeChat(
                id=user.id, type="private", first_name=user.first_name, username=user.username
            )
            self._chats[chat.id] = chat
        return chat

    def add_group(self, title: str) -> FakeChat:
        self._group_seq += 1
        chat = FakeChat(id=-(4_000_000_000 + self._group_seq), type="group", title=title)
        self._chats[chat.id] = chat
        return chat

    def add_supergroup(self, title: str, *, chat_id: int | None = None) -> FakeChat:
        """Create a supergroup (id of the form -100xxxxxxxxxx unless given)."""
        if chat_id is None:
            self._group_seq += 1
            chat_id = -(10**12 + 1_000_000_000 + self._group_seq)
        chat = FakeChat(id=chat_id, type="supergroup", title=title)
        self._chats[chat.id] = chat
        return chat

    def find_chat(self, chat_id: int) -> FakeChat | None:
        return self._chats.get(chat_id)

    def migrated_to(self, chat_id: int) -> int | None:
        """Return the supergroup a basic group was upgraded to, if it was."""
        return self._migrated.get(chat_id)

    def blocked(self, chat: FakeChat) -> bool:
        """Tell whether this is the private chat of a user who blocked the bot."""
        return chat.type == "private" and chat.id in self._blocked

    def set_blocked(self, user: FakeUser, blocked: bool) -> JSONDict:
        """Block or unblock the bot for ``user``; queue and return the ``my_chat_member``."""
        if blocked:
            self._blocked.add(user.id)
        else:
            self._blocked.discard(user.id)
        old, new = ("member", "kicked") if blocked else ("kicked", "member")

        def member(status: str) -> JSONDict:
            data: JSONDict = {"status": status, "user": self.bot_from()}
            if status == "kicked":
                data["until_date"] = 0
            return data

        return self.inject_update(
            {
                "my_chat_member": {
                    "chat": self.private_chat(user).to_dict(),
                    "from": user.to_dict(),
                    "date": now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    def migrate_group(self, group: FakeChat, by: FakeUser | None = None) -> FakeChat:
        if group.type != "group":
            raise ValueError(f"chat {group.id} is a {group.type}, not a basic group")
        supergroup = self.add_supergroup(group.title or "")
        self._migrated[group.id] = supergroup.id
        for chat, key, value in (
            (group, "migrate_to_chat_id", supergroup.id),
            (supergroup, "migrate_from_chat_id", group.id),
        ):
            message = self._user_message(chat, by, {key: value})
            self.inject_update({"message": message})
        return supergroup

    def ensure_supergroup(self, chat_id: int, like: int | None) -> None:
        """Make sure a supergroup exists as ``chat_id``, titled like chat ``like`` if known."""
        if chat_id in self._chats:
            return
        old = self._chats.get(like) if like is not None else None
        self.add_supergroup(
            old.title if old is not None and old.title else "Supergroup", chat_id=chat_id
        )

    # ------------------------------------------------------------------ updates from users

    def inject_update(self, update: JSONDict) -> JSONDict:
        queued = self.updates.add(update)
        query = queued.get("callback_query")
        if isinstance(query, dict) and "id" in query:
            self._callback_queries.setdefault(str(query["id"]), False)
        self.notify()
        return queued

    def send_message(self, user: FakeUser, text: str, chat: FakeChat | None = None) -> JSONDict:
        chat = chat if chat is not None else self.private_chat(user)
        self._chats.setdefault(chat.id, chat)
        message = self._user_message(chat, user, {"text": text})
        entities = command_entities(text)
        if entities:
            message["entities"] = entities
        return self.inject_update({"message": message})

    def press_button(
        self, user: FakeUser, message: SentMessage, callback_data: str, *, check: bool = True
    ) -> JSONDict:
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
                    "chat_instance": _chat_instance(current.chat_id),
                    "data": callback_data,
                }
            }
        )

    def callback_pending(self, query_id: str) -> bool:
        """Tell whether this callback query exists and has not been answered yet."""
        return self._callback_queries.get(query_id) is False

    def answer_callback(self, query_id: str, params: JSONDict) -> None:
        self._callback_queries[query_id] = True
        self.callback_answers.append(params)
        self.notify()

    def _user_message(self, chat: FakeChat, user: FakeUser | None, content: JSONDict) -> JSONDict:
        message: JSONDict = {"message_id": self._next_message_id(chat.id)}
        if user is not None:
            message["from"] = user.to_dict()
        message.update({"chat": chat.to_dict(), "date": now(), **content})
        self._messages[(chat.id, message["message_id"])] = message
        return message

    def _current(self, message: SentMessage) -> SentMessage:
        current = self._bot_messages.get((message.chat_id, message.message_id))
        if current is None or current.deleted:
            raise ValueError(
                f"Message {message.message_id} in chat {message.chat_id} does not exist "
                "(never sent by the bot, or deleted)"
            )
        return current

    # ------------------------------------------------------------------ the bot's output

    def record_call(self, method: str, params: JSONDict) -> None:
        self.calls.append(ApiCall(method, params))
        self.notify()

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """Return any existing message (from a user or the bot) as Telegram stored it."""
        return self._messages.get((chat_id, message_id))

    def bot_message(self, chat_id: int, message_id: int) -> SentMessage | None:
        """Return a message the bot sent and did not delete."""
        sent = self._bot_messages.get((chat_id, message_id))
        return None if sent is None or sent.deleted else sent

    def new_bot_message(self, chat: FakeChat) -> JSONDict:
        """Return a new message from the bot, with its id and date, not yet recorded."""
        return {
            "message_id": self._next_message_id(chat.id),
            "from": self.bot_from(),
            "chat": chat.to_dict(),
            "date": now(),
        }

    def record_sent(self, sent: SentMessage) -> None:
        """Store a message the bot sent; ``sent.raw`` is its Bot API ``Message``."""
        self._messages[(sent.chat_id, sent.message_id)] = sent.raw
        self._bot_messages[(sent.chat_id, sent.message_id)] = sent
        self.sent.append(sent)
        self.notify()

    def delete_message(self, chat_id: int, message_id: int) -> bool:
        """Delete a message; ``False`` if there is no such message."""
        if self._messages.pop((chat_id, message_id), None) is None:
            return False
        sent = self._bot_messages.get((chat_id, message_id))
        if sent is not None:
            sent.deleted = True
        self.notify()
        return True

    def _next_message_id(self, chat_id: int) -> int:
        message_id = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = message_id
        return message_id

"""The fake Bot API server as tests drive it: lifecycle, simulated users, inspection, faults."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Self, TypeVar

from ._faults import Fault, FaultBook, FloodLimits, answer_with_fault
from ._methods import Context, Methods
from ._models import ApiCall, FakeChat, FakeUser, JSONDict, SentMessage
from ._transport import HOST, Call, HttpFront, Reply
from ._world import World

__all__ = ["FakeTelegramServer"]

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")
_WAIT_POLL_INTERVAL = 0.05


def _chat_id_of(chat: int | FakeChat | FakeUser) -> int:
    return chat if isinstance(chat, int) else chat.id


class FakeTelegramServer:
    """A fake Bot API server on 127.0.0.1 that a real PTB Application talks to over HTTP.

    With ``enforce_limits`` sending is refused with 429 beyond Telegram's flood limits:
    ``overall_per_second``, ``per_chat_per_second`` and ``per_group_per_minute``.
    """

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "afterglow_test_bot",
        bot_id: int | None = None,
        *,
        enforce_limits: bool = False,
        overall_per_second: int = 30,
        per_chat_per_second: int = 1,
        per_group_per_minute: int = 20,
        first_update_id: int | None = None,
    ) -> None:
        prefix = token.split(":", 1)[0]
        if bot_id is None:
            bot_id = int(prefix) if prefix.isdigit() else 1
        self.token = token
        self._world = World(
            bot_id=bot_id, bot_username=bot_username, first_update_id=first_update_id
        )
        self._faults = FaultBook()
        self._flood = FloodLimits(
            enforce=enforce_limits,
            overall_per_second=overall_per_second,
            per_chat_per_second=per_chat_per_second,
            per_group_per_minute=per_group_per_minute,
        )
        self._methods = Methods(Context(self._world, self._flood))
        self._http = HttpFront(token, self._methods.names, self._answer)
        self._port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bind to 127.0.0.1 on a free port and start serving."""
        if self._http.running:
            raise RuntimeError("FakeTelegramServer is already running")
        self._world.open()
        self._port = await self._http.start()
        _LOGGER.debug("Fake Telegram server listening on %s", self.base_url)

    async def stop(self) -> None:
        """Stop serving; in-flight long polls and delayed answers return immediately."""
        if not self._http.running:
            return
        self._world.close()
        self._port = None
        await self._http.stop()

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
        return f"http://{HOST}:{self.port}/bot"

    async def _answer(self, call: Call, connected: Callable[[], bool]) -> Reply:
        self._world.record_call(call.method, call.params)
        fault = self._faults.take(call)
        if fault is None:
            return await self._methods.invoke(call)
        return await answer_with_fault(fault, call, self._methods.invoke, self._world, connected)

    # ------------------------------------------------------------------ the bot and its output

    @property
    def bot_id(self) -> int:
        """Return the bot's user id (the token's number unless given)."""
        return self._world.bot_id

    @property
    def bot_username(self) -> str:
        """Return the bot's username, without ``@``."""
        return self._world.bot_username

    @property
    def sent(self) -> list[SentMessage]:
        """Return every message the bot sent, in order, as it is now (edits applied)."""
        return self._world.sent

    @property
    def calls(self) -> list[ApiCall]:
        """Return every API call received, in order (faulted ones included)."""
        return self._world.calls

    @property
    def callback_answers(self) -> list[JSONDict]:
        """Return the params of every accepted ``answerCallbackQuery``."""
        return self._world.callback_answers

    @property
    def commands(self) -> dict[str, list[JSONDict]]:
        """Return the command menus by scope, e.g. ``default``, ``chat:42``, ``default/de``."""
        return self._world.commands

    @property
    def webhook_url(self) -> str:
        """Return the webhook URL set by the bot (empty when none is set)."""
        return self._world.webhook_url

    @property
    def webhook_secret_token(self) -> str | None:
        """Return the secret token the bot set along with its webhook."""
        return self._world.webhook_secret_token

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Return the queued updates the bot has not confirmed yet."""
        return self._world.updates.updates()

    @property
    def flood_429_count(self) -> int:
        """Return how many sends the flood limits refused."""
        return self._flood.rejected

    @property
    def internal_errors(self) -> list[Exception]:
        """Return the exceptions of fake-server bugs (each answered with a 500)."""
        return self._methods.internal_errors

    def messages(self, chat_id: int | FakeChat | FakeUser) -> list[SentMessage]:
        """Return the bot's messages in a chat as they currently are (edits applied)."""
        target = _chat_id_of(chat_id)
        return [m for m in self.sent if m.chat_id == target and not m.deleted]

    def calls_to(self, method: str) -> list[JSONDict]:
        """Return the params of every received call to ``method``."""
        return [call.params for call in self.calls if call.method == method]

    # ------------------------------------------------------------------ simulated people

    def add_user(
        self, first_name: str, username: str | None = None, *, user_id: int | None = None
    ) -> FakeUser:
        """Create a simulated user (with its private chat) and return it."""
        return self._world.add_user(first_name, username, user_id=user_id)

    def private_chat(self, user: FakeUser) -> FakeChat:
        """Return the private chat between ``user`` and the bot."""
        return self._world.private_chat(user)

    def add_group(self, title: str) -> FakeChat:
        """Create a basic group chat (negative id) and return it."""
        return self._world.add_group(title)

    def migrate_group(self, group: FakeChat, by: FakeUser | None = None) -> FakeChat:
        """Upgrade a basic group to a supergroup like Telegram does; returns the supergroup.

        Both service messages are queued; sending to the old group answers 400 with
        ``migrate_to_chat_id``.
        """
        return self._world.migrate_group(group, by)

    def block_bot(self, user: FakeUser) -> JSONDict:
        """Simulate ``user`` blocking the bot; queues the ``my_chat_member`` update."""
        return self._world.set_blocked(user, True)

    def unblock_bot(self, user: FakeUser) -> JSONDict:
        """Simulate ``user`` unblocking (restarting) the bot; queues ``my_chat_member``."""
        return self._world.set_blocked(user, False)

    def inject_update(self, update: JSONDict) -> JSONDict:
        """Queue a raw update (id assigned if missing); re-injecting one redelivers it."""
        return self._world.inject_update(update)

    def send_message(self, user: FakeUser, text: str, chat: FakeChat | None = None) -> JSONDict:
        """Queue a text message from ``user`` (private chat by default); return the update."""
        return self._world.send_message(user, text, chat)

    def press_button(
        self, user: FakeUser, message: SentMessage, callback_data: str, *, check: bool = True
    ) -> JSONDict:
        """Queue a callback query as if ``user`` pressed an inline button; return the update.

        With ``check`` the message must have a button with this callback_data.
        """
        return self._world.press_button(user, message, callback_data, check=check)

    # ------------------------------------------------------------------ waiting

    async def wait_for(
        self,
        predicate: Callable[[], _T | None],
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the documented test API
    ) -> _T:
        """Wait until ``predicate()`` returns something truthy and return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._world.changed
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"Condition {predicate!r} not met within {timeout}s")
            await self._world.wait_change(event, min(remaining, _WAIT_POLL_INTERVAL))

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
        return self._faults.inject(fault)

    def clear_faults(self) -> None:
        """Remove every registered fault."""
        self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        """Return the faults that are still armed."""
        return self._faults.armed

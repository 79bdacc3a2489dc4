"""Intake: every update is committed to the inbox before Telegram is told it was received.

In polling, `AfterglowBot.get_updates` stores the batch it fetched before returning it, so
the Updater's next getUpdates (whose offset confirms the batch) only goes out once the
batch is safe; in webhook mode the server stores before it answers 200. Handling then works
from the inbox: an update is done once its handlers have run, and at start-up what was not
done is handled first. An update the library cannot parse is kept as poison, logged as one
line with its id, and skipped. Words that look like a crisis are flagged at intake, so the
update is handled at once instead of behind the chat's earlier messages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from telegram import Bot, Update

from bot.domain.clock import Clock
from bot.domain.codes import InboxClaim, InboxState
from bot.domain.entities import Received
from storage import InboxRepository, InstanceRepository

log = logging.getLogger(__name__)

# Bigger updates are not kept whole (only their id): nothing the bot handles is this big.
MAX_PAYLOAD = 64 * 1024
KEEP_HANDLED = timedelta(days=1)
_MESSAGE_KEYS = ("message", "edited_message")

CrisisCheck = Callable[[str], bool]


def chat_key(raw: Mapping[str, Any]) -> int:
    """Return the chat an update orders within (its user's for a button), or 0."""
    for key in (*_MESSAGE_KEYS, "channel_post", "edited_channel_post"):
        chat = _mapping(_mapping(raw.get(key)).get("chat"))
        if isinstance(chat.get("id"), int):
            return int(chat["id"])
    query = _mapping(raw.get("callback_query"))
    chat = _mapping(_mapping(query.get("message")).get("chat"))
    if isinstance(chat.get("id"), int):
        return int(chat["id"])
    sender = _mapping(query.get("from"))
    return int(sender["id"]) if isinstance(sender.get("id"), int) else 0


def words_of(raw: Mapping[str, Any]) -> str:
    """Return the text or caption of a message or edited message, or ''."""
    for key in _MESSAGE_KEYS:
        message = _mapping(raw.get(key))
        for field in ("text", "caption"):
            value = message.get(field)
            if isinstance(value, str):
                return value
    return ""


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


class Intake:
    """Receives raw updates into the inbox and tells the update processor what comes first."""

    def __init__(self, clock: Clock, *, crisis: CrisisCheck) -> None:
        self._clock = clock
        self._crisis = crisis
        self._inbox: InboxRepository | None = None
        self._instances: InstanceRepository | None = None
        self._me: int | None = None
        self._urgent: set[int] = set()
        self._active: set[int] = set()

    def open(
        self,
        inbox: InboxRepository,
        *,
        instances: InstanceRepository | None = None,
        me: int | None = None,
    ) -> None:
        """Start working over an open database (at start-up, once it is open).

        `me` is this process's instance id: the updates it stores and handles are marked
        with it, so that other instances leave them alone while it lives.
        """
        self._inbox = inbox
        self._instances = instances
        self._me = me

    def close(self) -> None:
        """Stop working over the database (at shutdown)."""
        self._inbox = None

    @property
    def inbox(self) -> InboxRepository:
        """Return the inbox; raises when the database is not open."""
        if self._inbox is None:
            raise RuntimeError("intake is not open")
        return self._inbox

    def is_urgent(self, update_id: int) -> bool:
        """Tell whether an update's words looked like a crisis at intake."""
        return update_id in self._urgent

    def _received(self, raw: object) -> Received | None:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("update_id"), int):
            log.error("intake.unidentifiable_update")
            return None
        payload = json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
        words = words_of(raw)
        return Received(
            update_id=int(raw["update_id"]),
            chat_key=chat_key(raw),
            payload=payload if len(payload.encode()) <= MAX_PAYLOAD else None,
            urgent=bool(words) and self._crisis(words),
        )

    async def receive(self, batch: Sequence[object], bot: Bot) -> list[Update]:
        """Commit a fetched batch, then return its updates in order for handling.

        An update that cannot be parsed comes back as an empty Update with its id (so the
        offset moves past it and nothing handles it), recorded as poison.
        """
        received = [item for raw in batch if (item := self._received(raw)) is not None]
        await self.inbox.store(received, now=self._clock.now(), by=self._me)
        return [await self._parse(item, bot) for item in received]

    async def resume(self, bot: Bot) -> list[Update]:
        """Return the updates a stop or crash left unhandled, oldest first, now this one's.

        At start-up, what this process's predecessor left; later, what another instance
        sharing the database left when it died. Those of live instances stay theirs.
        """
        alive: frozenset[int] = frozenset()
        if self._instances is not None and self._me is not None:
            alive = await self._instances.alive(self._me, now=self._clock.now())
        pending = await self.inbox.adopt(by=self._me, alive=alive)
        if pending:
            log.warning("intake.resuming count=%d", len(pending))
        return [await self._parse(item, bot) for item in pending]

    async def _parse(self, item: Received, bot: Bot) -> Update:
        if item.urgent:
            self._urgent.add(item.update_id)
        try:
            if item.payload is None:
                raise ValueError("too big to keep")
            update = Update.de_json(json.loads(item.payload), bot)
        except Exception as err:
            log.error("intake.poison update=%d error=%s", item.update_id, type(err).__name__)
            await self.inbox.finish(item.update_id, state=InboxState.POISON, now=self._clock.now())
            return Update(update_id=item.update_id)
        return update

    async def begin(self, update_id: int) -> bool:
        """Tell whether to handle an update now, counting the attempt.

        False for one handled already (Telegram may deliver an unconfirmed batch again
        after a restart), one being handled right now (here or by another instance), and
        one whose handling was started too often without finishing (it is set aside as
        poison). An update that never went through the inbox is handled.
        """
        if self._inbox is None or update_id in self._active:
            return update_id not in self._active
        state = await self.inbox.state(update_id)
        if state is None:
            return True
        if state is not InboxState.PENDING:
            return False
        claim = await self.inbox.begin(update_id, by=self._me)
        if claim is InboxClaim.ELSEWHERE:
            return False
        if claim is InboxClaim.GIVE_UP:
            log.error("intake.gave_up update=%d", update_id)
            await self.inbox.finish(update_id, state=InboxState.POISON, now=self._clock.now())
            return False
        self._active.add(update_id)
        return True

    async def done(self, update_id: int) -> None:
        """Record that an update's handlers have run."""
        self._urgent.discard(update_id)
        if update_id in self._active:
            self._active.discard(update_id)
            await self.inbox.finish(update_id, state=InboxState.DONE, now=self._clock.now())

    async def purge(self) -> int:
        """Delete what was handled more than a day ago, with its text."""
        return await self.inbox.purge(handled_before=self._clock.now() - KEEP_HANDLED)

"""The queue of updates waiting for the bot, with Telegram's offset confirmation."""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass

from ._models import JSONDict

__all__ = ["UpdateQueue"]

# Update types Telegram only sends when allowed_updates names them.
_OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass
class _Pending:
    update: JSONDict
    redelivery: bool = False
    handed_out: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])

    @property
    def kind(self) -> str:
        return next((key for key in self.update if key != "update_id"), "")


class UpdateQueue:
    """Unconfirmed updates in id order, as getUpdates and getWebhookInfo see them."""

    def __init__(self, first_update_id: int | None) -> None:
        self._pending: list[_Pending] = []
        self._delivered_ids: set[int] = set()
        self._next_id = (
            first_update_id if first_update_id is not None else random.randint(100_000, 900_000)
        )
        self.allowed: frozenset[str] | None = None
        self._poll = 0

    def __len__(self) -> int:
        return len(self._pending)

    def updates(self) -> list[JSONDict]:
        """Return the queued updates the bot has not confirmed yet."""
        return [entry.update for entry in self._pending]

    def add(self, update: JSONDict) -> JSONDict:
        """Queue ``update``, giving it the next id unless it has one; return a copy.

        An update that was already handed out is a redelivery: confirming a later offset
        does not drop it before the bot has fetched it again.
        """
        update = copy.deepcopy(update)
        update.setdefault("update_id", self._next_id)
        update_id = int(update["update_id"])
        self._next_id = max(self._next_id, update_id + 1)
        self._pending.append(_Pending(update, redelivery=update_id in self._delivered_ids))
        return copy.deepcopy(update)

    def clear(self) -> None:
        """Drop every pending update (``drop_pending_updates``)."""
        self._pending.clear()

    def confirm(self, offset: int) -> bool:
        """Forget what ``offset`` confirms, like getUpdates; return whether anything went."""
        before = len(self._pending)
        if offset > 0:
            self._pending = [
                entry
                for entry in self._pending
                if entry.update_id >= offset or (entry.redelivery and not entry.handed_out)
            ]
        elif offset < 0:
            self._pending = self._pending[offset:]
        return len(self._pending) != before

    def take(self, limit: int) -> list[JSONDict]:
        """Return copies of up to ``limit`` allowed updates, lowest id first."""
        ready = sorted(
            (entry for entry in self._pending if self._is_allowed(entry)),
            key=lambda entry: entry.update_id,
        )[:limit]
        for entry in ready:
            entry.handed_out = True
            self._delivered_ids.add(entry.update_id)
        return [copy.deepcopy(entry.update) for entry in ready]

    def has_ready(self) -> bool:
        """Tell whether a getUpdates call would return something now."""
        return any(self._is_allowed(entry) for entry in self._pending)

    def new_poll(self) -> int:
        """Register a getUpdates call; it is superseded by the next one."""
        self._poll += 1
        return self._poll

    def superseded(self, poll: int) -> bool:
        """Tell whether a later getUpdates call has started since ``poll``."""
        return poll != self._poll

    def _is_allowed(self, entry: _Pending) -> bool:
        if self.allowed is None:
            return entry.kind not in _OPT_IN_UPDATE_TYPES
        return entry.kind in self.allowed

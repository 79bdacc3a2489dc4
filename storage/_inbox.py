"""The inbox: every update Telegram delivered, committed before Telegram is told so."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from bot.domain.codes import InboxClaim, InboxState
from bot.domain.entities import Received

from ._database import Database, Row
from ._time import to_ts

# An update whose handling was started this many times without finishing (the process died
# each time) is set aside as poison rather than retried for ever.
MAX_ATTEMPTS = 3


class InboxRepository:
    """Stores received updates in one transaction per batch and records their handling."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def store(
        self, batch: Sequence[Received], *, now: datetime, by: int | None = None
    ) -> None:
        """Commit a batch of received updates; an update delivered again is kept once.

        `by` is the receiving instance: the updates are its own to handle while it lives.
        """
        if not batch:
            return
        async with self._db.write() as conn:
            await conn.execute_many(
                "INSERT INTO inbox (update_id, chat_key, received_at, payload, urgent,"
                " received_by) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (update_id) DO NOTHING",
                [
                    (
                        item.update_id,
                        item.chat_key,
                        to_ts(now),
                        item.payload,
                        int(item.urgent),
                        by,
                    )
                    for item in batch
                ],
            )

    async def begin(self, update_id: int, *, by: int | None = None) -> InboxClaim:
        """Take a pending update for handling by instance `by`, counting the attempt.

        Refused (ELSEWHERE) when another instance took it first: Telegram may deliver an
        update again to any instance while the first one still handles it.
        """
        rows = await self._db.write_one(
            "UPDATE inbox SET attempts = attempts + 1, handled_by = ?"
            " WHERE update_id = ? AND state = 'pending'"
            " AND (handled_by IS NULL OR handled_by = ?) RETURNING attempts",
            (by, update_id, by),
        )
        if not rows:
            return InboxClaim.ELSEWHERE
        return (
            InboxClaim.HANDLE if int(rows[0]["attempts"]) <= MAX_ATTEMPTS else InboxClaim.GIVE_UP
        )

    async def adopt(
        self, *, by: int | None, alive: Collection[int], limit: int = 10_000
    ) -> list[Received]:
        """Take over the pending updates of instances not `alive`, oldest first.

        An update is an instance's while it is handling it, or, until then, while it is
        the one that received it; a dead instance's updates (and those stored before
        instances were recorded) pass to `by`. Without any `alive`, all pending ones do.
        """
        living = sorted(set(alive))
        marks = ",".join("?" for _ in living)
        owner = "coalesce(handled_by, received_by)"
        orphaned = f" AND ({owner} IS NULL OR {owner} NOT IN ({marks}))" if living else ""
        select = f"SELECT update_id FROM inbox WHERE state = 'pending'{orphaned}"
        # A read first: usually nothing is orphaned, and then no write lock is taken.
        if not await self._db.fetch_all(f"{select} LIMIT 1", living):
            return []
        rows = await self._db.write_one(
            f"UPDATE inbox SET received_by = ?, handled_by = NULL WHERE update_id IN ({select}"
            " ORDER BY update_id LIMIT ?) AND state = 'pending'"
            " RETURNING update_id, chat_key, payload, urgent",
            (by, *living, limit),
        )
        return sorted((_received(row) for row in rows), key=lambda item: item.update_id)

    async def finish(self, update_id: int, *, state: InboxState, now: datetime) -> None:
        """Record that an update was handled (done) or set aside (poison)."""
        await self._db.write_one(
            "UPDATE inbox SET state = ?, handled_at = ? WHERE update_id = ? AND state = ?",
            (state, to_ts(now), update_id, InboxState.PENDING),
        )

    async def pending(self, *, limit: int = 10_000) -> list[Received]:
        """Return the updates not yet handled, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT update_id, chat_key, payload, urgent FROM inbox WHERE state = ?"
            " ORDER BY update_id LIMIT ?",
            (InboxState.PENDING, limit),
        )
        return [_received(row) for row in rows]

    async def state(self, update_id: int) -> InboxState | None:
        """Return where an update is, or None if it was never received (or was purged)."""
        row = await self._db.fetch_one("SELECT state FROM inbox WHERE update_id = ?", (update_id,))
        return None if row is None else InboxState(row["state"])

    async def purge(self, *, handled_before: datetime) -> int:
        """Delete updates handled before a moment, with their text; return how many."""
        rows = await self._db.write_one(
            "DELETE FROM inbox WHERE state != ? AND handled_at < ? RETURNING update_id",
            (InboxState.PENDING, to_ts(handled_before)),
        )
        return len(rows)


def _received(row: Row) -> Received:
    return Received(
        update_id=row["update_id"],
        chat_key=row["chat_key"],
        payload=row["payload"],
        urgent=bool(row["urgent"]),
    )

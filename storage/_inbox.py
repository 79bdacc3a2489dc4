"""The inbox: every update Telegram delivered, committed before Telegram is told so."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.codes import InboxState
from bot.domain.entities import Received

from ._database import Database
from ._time import to_ts

# An update whose handling was started this many times without finishing (the process died
# each time) is set aside as poison rather than retried for ever.
MAX_ATTEMPTS = 3


class InboxRepository:
    """Stores received updates in one transaction per batch and records their handling."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def store(self, batch: Sequence[Received], *, now: datetime) -> None:
        """Commit a batch of received updates; an update delivered again is kept once."""
        if not batch:
            return
        async with self._db.write() as conn:
            await conn.execute_many(
                "INSERT INTO inbox (update_id, chat_key, received_at, payload, urgent)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (update_id) DO NOTHING",
                [
                    (item.update_id, item.chat_key, to_ts(now), item.payload, int(item.urgent))
                    for item in batch
                ],
            )

    async def begin(self, update_id: int) -> bool:
        """Count an attempt at handling an update; False when it should not be tried again."""
        rows = await self._db.write_one(
            "UPDATE inbox SET attempts = attempts + 1 WHERE update_id = ? AND state = ?"
            " RETURNING attempts",
            (update_id, InboxState.PENDING),
        )
        return bool(rows) and int(rows[0]["attempts"]) <= MAX_ATTEMPTS

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
        return [
            Received(
                update_id=row["update_id"],
                chat_key=row["chat_key"],
                payload=row["payload"],
                urgent=bool(row["urgent"]),
            )
            for row in rows
        ]

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

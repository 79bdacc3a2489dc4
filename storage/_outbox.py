"""The urgent outbox: crisis replies and direct staff messages, retried until delivered."""

from __future__ import annotations

from datetime import datetime

from bot.domain.codes import DeliveryProblem, Urgency
from bot.domain.entities import UrgentMessage

from ._claims import claim_rows
from ._database import Database
from ._time import from_ts, to_ts


class OutboxRepository:
    """Stores urgent messages that did not go out at once, most urgent first."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        *,
        chat_id: int | None,
        text: str,
        urgency: Urgency,
        now: datetime,
        retry_at: datetime,
    ) -> int:
        """Keep a message to send again from `retry_at`; return its id."""
        rows = await self._db.write_one(
            "INSERT INTO urgent_outbox (chat_id, text, priority, created_at, attempts,"
            " next_attempt_at) VALUES (?, ?, ?, ?, 1, ?) RETURNING id",
            (chat_id, text, int(urgency), to_ts(now), to_ts(retry_at)),
        )
        return int(rows[0]["id"])

    async def claim_due(self, now: datetime, *, limit: int) -> list[UrgentMessage]:
        """Claim up to `limit` unsent messages whose next attempt is due, most urgent first.

        Each is not due for anyone else for CLAIM_LEASE; `sent` or `retry` ends the claim. A
        message is never lost: one whose sender died mid-send is due again when the lease
        ends and is sent again (at least once; the patient or staff may get it twice).
        """
        rows = await claim_rows(
            self._db,
            "SELECT id, chat_id, text, priority, attempts FROM urgent_outbox"
            " WHERE sent_at IS NULL AND next_attempt_at <= ? ORDER BY priority, created_at, id"
            " LIMIT ?",
            (to_ts(now), limit),
            alias="urgent_outbox",
            table="urgent_outbox",
            due_column="next_attempt_at",
            now=now,
        )
        return [
            UrgentMessage(
                id=row["id"],
                chat_id=row["chat_id"],
                text=row["text"],
                urgency=Urgency(row["priority"]),
                attempts=row["attempts"],
            )
            for row in rows
        ]

    async def next_attempt(self) -> datetime | None:
        """Return when the earliest unsent message is due."""
        row = await self._db.fetch_one(
            "SELECT min(next_attempt_at) FROM urgent_outbox WHERE sent_at IS NULL"
        )
        return None if row is None or row[0] is None else from_ts(row[0])

    async def sent(self, message_id: int, *, now: datetime) -> None:
        """Record that a message went out."""
        await self._db.write_one(
            "UPDATE urgent_outbox SET sent_at = ?, last_error = NULL WHERE id = ?",
            (to_ts(now), message_id),
        )

    async def retry(self, message_id: int, *, at: datetime, problem: DeliveryProblem) -> None:
        """Record a failed attempt and when to try again."""
        await self._db.write_one(
            "UPDATE urgent_outbox SET attempts = attempts + 1, next_attempt_at = ?,"
            " last_error = ? WHERE id = ? AND sent_at IS NULL",
            (to_ts(at), problem, message_id),
        )

    async def unsent(self) -> int:
        """Return how many messages still wait."""
        row = await self._db.fetch_one("SELECT count(*) FROM urgent_outbox WHERE sent_at IS NULL")
        return 0 if row is None else int(row[0])

    async def purge(self, *, sent_before: datetime) -> int:
        """Delete messages sent before a moment, words and all."""
        rows = await self._db.write_one(
            "DELETE FROM urgent_outbox WHERE sent_at IS NOT NULL AND sent_at < ? RETURNING id",
            (to_ts(sent_before),),
        )
        return len(rows)
